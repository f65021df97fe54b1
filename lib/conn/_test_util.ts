/**
 * Test helper: a transport the test feeds by hand, keeping what is written as
 * text, for unit tests of connection kinds without sockets.
 *
 * @module
 */
import type { Transport } from "./transport.ts";

export class ScriptedTransport implements Transport {
  readonly remoteAddress = "127.0.0.1";
  readonly remotePort: number;
  written = "";
  closed = false;
  #onData: ((chunk: Uint8Array) => void) | null = null;

  constructor(remotePort = 40000) {
    this.remotePort = remotePort;
  }

  start(onData: (chunk: Uint8Array) => void): void {
    this.#onData = onData;
  }
  write(data: Uint8Array): Promise<void> {
    this.written += new TextDecoder().decode(data);
    return Promise.resolve();
  }
  pause(): void {}
  resume(): void {}
  close(): void {
    this.closed = true;
  }
  /** Sends `text` to the connection as one chunk. */
  feed(text: string): void {
    this.#onData!(new TextEncoder().encode(text));
  }
}
