import { deepEqual, equal, ok } from "node:assert/strict";
import {
  acceptKey,
  checkOrigin,
  checkUpgrade,
  type HttpRequest,
  originPolicy,
  readRequest,
  type Upgrade,
} from "./handshake.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function read(text: string) {
  const b = enc.encode(text);
  return readRequest(b, b.length);
}

function req(lines: string[]): HttpRequest {
  const r = read(lines.join("\r\n") + "\r\n\r\n");
  if (r.kind !== "request") throw new Error(`not a request: ${r.kind}`);
  return r.request;
}

const GOOD = [
  "GET / HTTP/1.1",
  "Host: example.com:8080",
  "Upgrade: websocket",
  "Connection: Upgrade",
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
  "Sec-WebSocket-Version: 13",
];
const none = originPolicy(false, []);

Deno.test("readRequest: incomplete, complete (bare LF too), Go's own rejections", () => {
  equal(read("GET / HTTP/1.1\r\nHost: x\r\n").kind, "incomplete");
  const r = read("\r\nGET /a HTTP/1.1\nHost: x\n\nextra");
  equal(r.kind, "request");
  if (r.kind === "request") {
    equal(r.request.target, "/a");
    equal(r.consumed, "\r\nGET /a HTTP/1.1\nHost: x\n\n".length);
  }
  const reject = (t: string) => {
    const x = read(t);
    return x.kind === "reject" ? dec.decode(x.response).split("\r\n")[0] : x.kind;
  };
  equal(reject("garbage\r\n\r\n"), "HTTP/1.1 400 Bad Request");
  equal(reject("GET / HTTP/1.1\r\n\r\n"), "HTTP/1.1 400 Bad Request: missing required Host header");
  equal(
    reject("GET / HTTP/2.0\r\nHost: x\r\n\r\n"),
    "HTTP/1.1 505 HTTP Version Not Supported: unsupported protocol version",
  );
  equal(reject("GET / HTTP/1.1\r\nbad header\r\n\r\n"), "HTTP/1.1 400 Bad Request");
  equal(
    reject("GET / HTTP/1.1\r\nX: " + "a".repeat((1 << 20) + 5000)),
    "HTTP/1.1 431 Request Header Fields Too Large",
  );
});

Deno.test("checkUpgrade: nats-server's checks in its order, and the 101", () => {
  const refusal = (lines: string[]) => {
    const r = checkUpgrade(req(lines), none, false, false);
    return "status" in r ? `${r.status} ${r.reason}` : "ok";
  };
  equal(refusal(GOOD), "ok");
  equal(refusal(["POST / HTTP/1.1", ...GOOD.slice(1)]), "405 request method must be GET");
  equal(
    refusal(GOOD.filter((l) => !l.startsWith("Upgrade"))),
    "400 invalid value for header 'Upgrade'",
  );
  equal(
    refusal(GOOD.map((l) => l.startsWith("Connection") ? "Connection: close" : l)),
    "400 invalid value for header 'Connection'",
  );
  equal(refusal(GOOD.filter((l) => !l.startsWith("Sec-WebSocket-Key"))), "400 key missing");
  equal(refusal(GOOD.map((l) => l.replace("Version: 13", "Version: 12"))), "400 invalid version");
  const up = checkUpgrade(
    req([
      ...GOOD,
      "Sec-WebSocket-Extensions: x-foo, permessage-deflate; client_max_window_bits",
      "Nats-No-Masking: true",
      "User-Agent: Mozilla/5.0 Version/17 Safari/605",
    ]),
    none,
    true,
    false,
  ) as Upgrade;
  deepEqual([up.compress, up.noMasking, up.browser, up.noCompressedFragments], [
    true,
    true,
    true,
    true,
  ]);
  equal(
    dec.decode(up.response),
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
      "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n" +
      "Nats-No-Masking: true\r\n\r\n",
  );
  equal(acceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
});

Deno.test("checkOrigin: same origin with default ports, allowed list by host, scheme and port", () => {
  const same = originPolicy(true, []);
  const withOrigin = (o: string, host = "example.com:8080") =>
    req([...GOOD.map((l) => l.startsWith("Host") ? `Host: ${host}` : l), `Origin: ${o}`]);
  equal(checkOrigin(withOrigin("http://example.com:8080"), same, false), null);
  equal(checkOrigin(withOrigin("http://EXAMPLE.com:8080"), same, false), null);
  equal(checkOrigin(withOrigin("http://example.com", "example.com"), same, false), null);
  equal(checkOrigin(withOrigin("https://example.com", "example.com"), same, true), null);
  equal(checkOrigin(withOrigin("http://other.com:8080"), same, false), "not same origin");
  equal(checkOrigin(req(GOOD), same, false), null); // no Origin: not a browser
  const list = originPolicy(false, ["https://app.example", "http://x.example:81"]);
  equal(checkOrigin(withOrigin("https://app.example"), list, false), null);
  equal(checkOrigin(withOrigin("https://app.example:443"), list, false), null);
  equal(checkOrigin(withOrigin("http://app.example"), list, false), "not in the allowed list");
  equal(checkOrigin(withOrigin("http://x.example:81"), list, false), null);
  equal(checkOrigin(withOrigin("http://x.example"), list, false), "not in the allowed list");
  ok(checkOrigin(withOrigin("null"), list, false)?.includes("invalid URI"));
});
