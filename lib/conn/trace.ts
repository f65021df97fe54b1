/**
 * Trace lines for an inbound message, shared by client and route
 * connections so both print what nats-server prints. Only called behind a
 * `traceEnabled` check: these build strings.
 *
 * @module
 */
import type { LineParser } from "../protocol/line_parser.ts";
import { latin1 } from "../protocol/bytes.ts";
import { goQuoteBytes } from "../protocol/go_quote.ts";

/**
 * `<<- [VERB args]` for the control line the parser just read.
 *
 * @param verb the verb as nats-server spells it in traces (PUB, HMSG, ...)
 * @param p the parser holding the line's arguments
 * @returns the trace text
 */
export function traceArgsLine(verb: string, p: LineParser): string {
  const args: string[] = [];
  for (let k = 0; k < p.argCount; k++) args.push(latin1(p.argBuf, p.argStart[k], p.argEnd[k]));
  return `<<- [${verb} ${args.join(" ")}]`;
}

/**
 * `<<- MSG_PAYLOAD: ["..."]` (Go-quoted), cut after `limit` bytes with "..." (max_traced_msg_len).
 *
 * @param payload the message payload
 * @param limit most bytes shown; 0 shows all
 * @returns the trace text
 */
export function tracePayloadLine(payload: Uint8Array, limit: number): string {
  if (limit > 0 && payload.length > limit) {
    // nats-server quotes the first `limit` bytes, then keeps `limit` characters of that.
    const quoted = goQuoteBytes(payload, 0, limit);
    return `<<- MSG_PAYLOAD: ["${quoted.slice(1, limit + 1)}..."]`;
  }
  return `<<- MSG_PAYLOAD: [${goQuoteBytes(payload)}]`;
}
