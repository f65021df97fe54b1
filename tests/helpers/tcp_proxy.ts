/**
 * A TCP proxy for cutting one connection path in a test: it listens on a free
 * port of 127.0.0.1 and forwards each accepted connection to the target.
 * `cut()` stops listening and closes both sides of every forwarded pair;
 * `restore()` listens again on the same port.
 *
 * @module
 */

interface Pair {
  client: Deno.Conn;
  upstream: Deno.Conn;
}

export class TcpProxy {
  readonly port: number;
  /** Connections forwarded so far. */
  accepted = 0;
  #listener: Deno.Listener | null;
  #pairs = new Set<Pair>();
  #loops: Promise<void>[] = [];

  private constructor(listener: Deno.Listener, readonly targetPort: number) {
    this.#listener = listener;
    this.port = (listener.addr as Deno.NetAddr).port;
    this.#loops.push(this.#accept(listener));
  }

  static start(targetPort: number): TcpProxy {
    return new TcpProxy(Deno.listen({ hostname: "127.0.0.1", port: 0 }), targetPort);
  }

  /** Number of forwarded pairs open now. */
  get open(): number {
    return this.#pairs.size;
  }

  async #accept(listener: Deno.Listener): Promise<void> {
    try {
      for await (const client of listener) {
        let upstream: Deno.Conn;
        try {
          upstream = await Deno.connect({ hostname: "127.0.0.1", port: this.targetPort });
        } catch {
          client.close();
          continue;
        }
        this.accepted++;
        const pair = { client, upstream };
        this.#pairs.add(pair);
        this.#loops.push(this.#pump(pair, client, upstream), this.#pump(pair, upstream, client));
      }
    } catch {
      // listener closed by cut()/close()
    }
  }

  async #pump(pair: Pair, from: Deno.Conn, to: Deno.Conn): Promise<void> {
    const buf = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await from.read(buf);
        if (n === null) break;
        let off = 0;
        while (off < n) off += await to.write(buf.subarray(off, n));
      }
    } catch {
      // either side gone
    }
    this.#closePair(pair);
  }

  #closePair(pair: Pair): void {
    if (!this.#pairs.delete(pair)) return;
    for (const c of [pair.client, pair.upstream]) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
  }

  /** Stops listening and closes both sides of every forwarded connection. */
  cut(): void {
    try {
      this.#listener?.close();
    } catch { /* closed */ }
    this.#listener = null;
    for (const pair of [...this.#pairs]) this.#closePair(pair);
  }

  /** Listens again on the same port. */
  restore(): void {
    if (this.#listener) return;
    const listener = Deno.listen({ hostname: "127.0.0.1", port: this.port });
    this.#listener = listener;
    this.#loops.push(this.#accept(listener));
  }

  async close(): Promise<void> {
    this.cut();
    await Promise.all(this.#loops);
  }
}
