/**
 * A raw TCP client for exact protocol bytes: send lines, wait for a pattern
 * in everything received, detect the server closing the connection.
 *
 * @module
 */
import { waitFor } from "./server.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class RawClient {
  readonly conn: Deno.Conn;
  /** Everything received so far (latin1-safe for the protocol's ASCII). */
  received = "";
  closed = false;
  #reader: Promise<void>;

  private constructor(conn: Deno.Conn) {
    this.conn = conn;
    this.#reader = this.#read();
  }

  static async connect(port: number, host = "127.0.0.1"): Promise<RawClient> {
    return new RawClient(await Deno.connect({ hostname: host, port }));
  }

  async #read(): Promise<void> {
    const buf = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await this.conn.read(buf);
        if (n === null) break;
        this.received += decoder.decode(buf.subarray(0, n), { stream: true });
      }
    } catch {
      // reset by peer counts as closed
    }
    this.closed = true;
  }

  async send(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    let off = 0;
    while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
  }

  /** Waits until the received text matches `re`; returns the match. */
  async expect(re: RegExp, timeoutMs = 3000): Promise<RegExpExecArray> {
    let m: RegExpExecArray | null = null;
    await waitFor(
      () => (m = re.exec(this.received)) !== null,
      timeoutMs,
      `${re} in ${JSON.stringify(this.received.slice(-300))}`,
    );
    return m!;
  }

  /** Waits for the server to close the connection. */
  async expectClosed(timeoutMs = 3000): Promise<void> {
    await waitFor(() => this.closed, timeoutMs, "connection close");
  }

  /** Sends PING and waits for the matching PONG count: proves everything before it was processed. */
  async roundTrip(timeoutMs = 3000): Promise<void> {
    const before = (this.received.match(/PONG\r\n/g) ?? []).length;
    await this.send("PING\r\n");
    await waitFor(
      () => (this.received.match(/PONG\r\n/g) ?? []).length > before,
      timeoutMs,
      "PONG",
    );
  }

  async close(): Promise<void> {
    try {
      this.conn.close();
    } catch { /* already closed */ }
    await this.#reader;
  }
}
