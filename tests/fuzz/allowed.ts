/**
 * Differences between dnatsd and nats-server that the fuzzer finds and that
 * are on purpose; each is described in the README ("Protocol differences from
 * nats-server"). The differential test accepts exactly these.
 *
 * @module
 */
import type { AllowedDifference, Transcript } from "./differential.ts";

const INVALID_PUB = "-ERR 'Invalid Publish Subject'\r\n";

/** Consecutive repeats of the pedantic subject error folded into one. */
function foldRepeatedInvalidPub(text: string): string {
  return text.replaceAll(new RegExp(`(${INVALID_PUB})+`, "g"), INVALID_PUB);
}

function latin1(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}

function count(text: string, line: string): number {
  return text.split(line).length - 1;
}

const sameClose = (a: Transcript, b: Transcript) => a.closed === b.closed;

/** True when a control line of `bytes` holds a CR that is not right before its LF. */
function crInsideLine(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0d && bytes[i + 1] !== 0x0a) return true;
  }
  return false;
}

export const ALLOWED_DIFFERENCES: AllowedDifference[] = [
  {
    name: "repeated-invalid-publish-subject",
    reason: "nats-server sends the pedantic 'Invalid Publish Subject' error again when the " +
      "payload of that PUB arrives in a later read (it re-parses the arguments), so how " +
      "often it is sent depends on TCP segmentation; dnatsd sends it once per PUB.",
    // nats-server's answer is dnatsd's with some of those lines repeated.
    matches: (_s, ours, theirs) =>
      sameClose(ours, theirs) &&
      foldRepeatedInvalidPub(theirs.text) === foldRepeatedInvalidPub(ours.text) &&
      count(theirs.text, INVALID_PUB) > count(ours.text, INVALID_PUB),
  },
  {
    name: "cr-inside-control-line",
    reason: "nats-server's handling of a CR that is not right before the LF depends on " +
      "where its reads split the line (in one read it drops the line's last byte, across " +
      "reads it drops every CR), so no fixed answer matches it; dnatsd keeps such a CR " +
      "as part of the argument and only strips a CR right before the LF.",
    matches: (s) => crInsideLine(s.bytes),
  },
  {
    name: "whitespace-in-subject",
    reason: "dnatsd reports a pedantic PUB subject holding whitespace ('Invalid Publish " +
      "Subject') and refuses such a SUB subject ('Invalid Subject'); nats-server 2.9 checks " +
      "neither there (only elsewhere), although such a subject breaks the framing of the MSG " +
      "line every subscriber receives. A client gets one in as a PUB argument that starts " +
      "with LF ('PUB \\nfoo 1') or with a form feed byte.",
    matches: (s, ours, theirs) =>
      sameClose(ours, theirs) &&
      (/(^|\n)h?pub[ \t]+\n/i.test(latin1(s.bytes)) || s.bytes.includes(0x0c)),
  },
  {
    name: "client-hmsg",
    reason: "HMSG is a server-to-client verb: dnatsd refuses it from a client as " +
      "'Unknown Protocol Operation', like MSG; nats-server's shared parser skips its " +
      "arguments and takes a zero-size message for no subject (and +OKs it).",
    matches: (s, ours) =>
      /(^|\n)hmsg[ \t]/i.test(latin1(s.bytes)) && ours.closed &&
      ours.text.endsWith("-ERR 'Unknown Protocol Operation'\r\n"),
  },
];
