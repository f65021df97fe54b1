/**
 * A client's malformed input, answered as nats-server answers it: the `-ERR`
 * (where it sends one), the log line with the parser's detail, and the close,
 * after what is already queued is written.
 *
 * @module
 */
import { ParseFailure } from "../protocol/client_parser.ts";
import { WireError } from "../protocol/wire_errors.ts";
import { traceArgsLine } from "../conn/trace.ts";
import { ClosedReason } from "../conn/closed_reason.ts";
import type { ClientConnection } from "./connection.ts";

export function answerParseFailure(conn: ClientConnection, failure: ParseFailure): void {
  const p = conn.parser;
  const trace = (line: string) => conn.server.log.trace(`${conn.logPrefix} - ${line}`);
  const logDetail = () => {
    if (p.failureDetail !== "") conn.server.log.error(`${conn.logPrefix} - ${p.failureDetail}`);
  };
  switch (failure) {
    case ParseFailure.UnknownOp:
      conn.sendErr(WireError.UnknownProtocol);
      logDetail();
      conn.close(ClosedReason.ProtocolViolation, true);
      break;
    case ParseFailure.MaxControlLine:
      conn.sendErrAndClose(WireError.MaxControlLine, ClosedReason.MaxControlLineExceeded);
      logDetail();
      break;
    case ParseFailure.MaxPayload:
      if (conn.server.log.traceEnabled) {
        trace(traceArgsLine(p.pubHeaderSize >= 0 ? "HPUB" : "PUB", p));
      }
      logDetail();
      conn.sendErrAndClose(WireError.MaxPayload, ClosedReason.MaxPayloadExceeded);
      break;
    // No -ERR for these, but what is queued (+OK, earlier -ERRs) is still written first.
    case ParseFailure.BadArguments:
      if (conn.server.log.traceEnabled && p.failureLine !== "") {
        trace(`<<- [${p.failureLine}]`);
      }
      logDetail();
      conn.close(ClosedReason.ProtocolViolation, true);
      break;
    case ParseFailure.ClientError:
      logDetail();
      conn.close(ClosedReason.ParseError, true);
      break;
  }
}
