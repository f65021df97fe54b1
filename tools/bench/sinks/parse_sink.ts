/**
 * dnatsd's real client parser for the `tlsceiling` sinks in `parse` modes:
 * every byte read is parsed as dnatsd parses it (PUB lines, payloads), and
 * nothing is routed; a PING calls back so that the sink answers PONG. This is
 * the parsing share of dnatsd's per-byte work; the routing share is in the
 * plain-TCP figures of tools/bench/tls_budget.ts.
 *
 * @module
 */
import { ClientParser } from "../../../lib/protocol/client_parser.ts";

/** A parser whose only effect is counting PUBs and calling `onPing`. */
export function sinkParser(onPing: () => void): { parser: ClientParser; pubs: () => number } {
  let pubs = 0;
  const parser = new ClientParser({
    onConnect: () => true,
    onPub: () => {
      pubs++;
    },
    onPedanticPub: () => {},
    onSub: () => {},
    onUnsub: () => {},
    onPing,
    onPong: () => {},
    onInfo: () => true,
    onError: (failure) => {
      throw new Error(`sink parser: failure ${failure}`);
    },
  }, { maxControlLine: 4096, maxPayload: 1024 * 1024 });
  return { parser, pubs: () => pubs };
}
