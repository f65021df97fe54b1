/**
 * A WebSocket connection as a byte transport: it wraps the TCP (or TLS)
 * transport, reads the HTTP upgrade request, then turns client frames into
 * the byte stream the client parser reads and the server's writes into
 * binary frames, as nats-server 2.9 frames them (one frame per write, at most
 * 4 KiB per frame for browsers, permessage-deflate above 64 bytes when
 * negotiated). Ping frames are answered, and a close frame goes out with the
 * status nats-server picks for the reason the connection closed.
 *
 * @module
 */
import { deflateRawSync } from "node:zlib";
import { ClosedReason } from "../conn/closed_reason.ts";
import type { Transport } from "../conn/transport.ts";
import {
  closePayload,
  closeReply,
  CloseStatus,
  controlFrame,
  encodeHeader,
  FrameDecoder,
  type FrameHandler,
  headerLength,
  MAX_HEADER,
  Opcode,
} from "./frame.ts";
import type { Upgrade } from "./handshake.ts";

/** Browsers handle frames of this size best (nats-server's limit for them). */
const BROWSER_FRAME = 4096;
/** Writes up to this size are not compressed. */
const COMPRESS_THRESHOLD = 64;
/** The time a close frame may take to go out before the socket is closed anyway. */
const CLOSE_WRITE_MS = 1000;
/**
 * Writes from this size go out as a header write plus the caller's buffer
 * (two writes, no copy). Below it the frame is built in a kept scratch buffer
 * and written at once: one write per flush measured faster, and the outbound
 * buffer (whose writes are at most 1 MiB) stays small.
 */
const DIRECT_WRITE = 1024 * 1024 + 1;
/** Scratch buffers up to this size are kept for the next write. */
const KEEP_SCRATCH = 1024 * 1024 + 64;
/** Small writes in a row after which a big scratch buffer is given back. */
const SHRINK_AFTER = 64;
const EMPTY = new Uint8Array(0);

/** A protocol error in the client's frames: logged as nats-server logs a read error. */
export class WebSocketReadError extends Error {
  readonly wsProtocol = true;
}

/** Close status for a closed reason; null when nats-server sends no close frame. */
export function closeStatusFor(reason: string): number | null {
  switch (reason) {
    case ClosedReason.ReadError:
    case ClosedReason.WriteError:
    case ClosedReason.SlowConsumerPendingBytes:
    case ClosedReason.SlowConsumerWriteDeadline:
    case ClosedReason.TlsHandshakeError:
      return null; // nats-server skips the final flush for these
    case ClosedReason.ClientClosed:
      return CloseStatus.Normal;
    case ClosedReason.AuthenticationTimeout:
    case ClosedReason.AuthenticationViolation:
    case ClosedReason.MaxAccountConnectionsExceeded:
    case ClosedReason.MaxConnectionsExceeded:
    case ClosedReason.MaxControlLineExceeded:
    case ClosedReason.MaxSubscriptionsExceeded:
    case ClosedReason.AuthenticationExpired:
      return CloseStatus.PolicyViolation;
    case ClosedReason.ParseError:
    case ClosedReason.ProtocolViolation:
    case ClosedReason.BadClientProtocolVersion:
      return CloseStatus.ProtocolError;
    case ClosedReason.MaxPayloadExceeded:
      return CloseStatus.MessageTooBig;
    case ClosedReason.ServerShutdown:
      return CloseStatus.GoingAway;
    case ClosedReason.StaleConnection:
      return CloseStatus.Abnormal;
    default:
      return CloseStatus.InternalError;
  }
}

/** Settings of the frame layer, from the listener's options. */
export interface FrameSettings {
  /** Largest inflated client message (bounds a compressed message's memory). */
  maxInflated: number;
}

export class WebSocketTransport implements Transport, FrameHandler {
  readonly inner: Transport;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** What the upgrade negotiated (null before it). */
  upgrade: Upgrade | null = null;
  /** `X-Forwarded-For` of the upgrade request, when it is an IP address. */
  forwardedFor?: string;
  #decoder: FrameDecoder | null = null;
  #onData: (chunk: Uint8Array) => void = () => {};
  #onClose: (error?: Error) => void = () => {};
  /** Writes go out one after the other (frames must not interleave). */
  #chain: Promise<void> = Promise.resolve();
  #scratch: Uint8Array = EMPTY;
  #scratchBusy = false;
  #smallWrites = 0;
  /** Writes started or waiting. */
  #queued = 0;
  #closeSent = false;
  #closing = false;
  #closed = false;
  #ended = false;
  #pendingClose: Uint8Array | null = null;
  #settings: FrameSettings;

  constructor(inner: Transport, settings: FrameSettings) {
    this.inner = inner;
    this.remoteAddress = inner.remoteAddress;
    this.remotePort = inner.remotePort;
    this.#settings = settings;
  }

  /**
   * Starts reading the socket for the upgrade request: chunks go to
   * `onHandshake` until {@link accept} switches to frames.
   */
  open(onHandshake: (chunk: Uint8Array) => void, onEnd: (error?: Error) => void): void {
    this.inner.start((chunk) => {
      if (this.#decoder !== null) this.#decoder.decode(chunk);
      else if (!this.#closed) onHandshake(chunk);
    }, (e) => {
      this.#ended = true;
      if (this.#decoder !== null) this.#onClose(e);
      else onEnd(e);
    });
  }

  /** Sends HTTP bytes during the handshake (an error answer or the 101). */
  writeRaw(bytes: Uint8Array): Promise<void> {
    return this.#enqueue(bytes);
  }

  /** The upgrade succeeded: from now on bytes are frames. */
  accept(upgrade: Upgrade): void {
    this.upgrade = upgrade;
    if (upgrade.forwardedFor !== undefined) this.forwardedFor = upgrade.forwardedFor;
    this.#decoder = new FrameDecoder(this, {
      mask: !upgrade.noMasking,
      maxInflated: this.#settings.maxInflated,
    });
  }

  // ------------------------------------------------------------ Transport

  start(onData: (chunk: Uint8Array) => void, onClose: (error?: Error) => void): void {
    this.#onData = onData;
    this.#onClose = onClose;
    if (this.#ended) queueMicrotask(() => onClose());
  }

  write(data: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("connection closed"));
    const up = this.upgrade!;
    if (data.length >= DIRECT_WRITE && !up.browser && !up.compress) {
      // One frame: its header, then the caller's bytes as they are (no copy).
      const head = new Uint8Array(MAX_HEADER);
      const n = encodeHeader(head, 0, Opcode.Binary, true, false, data.length);
      this.#enqueue(head.subarray(0, n)).catch(() => {/* reported by the data write */});
      return this.#enqueue(data);
    }
    return this.#enqueue(this.#frame(data), true);
  }

  pause(): void {
    this.inner.pause();
  }

  resume(): void {
    this.inner.resume();
  }

  /** The connection is closing for `reason`: a close frame follows what is queued. */
  closing(reason: string): void {
    if (this.#closeSent || this.upgrade === null) return;
    const status = closeStatusFor(reason);
    if (status === null) return;
    this.#pendingClose = closePayload(status, reason);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#decoder?.stop();
    const payload = this.#pendingClose;
    this.#pendingClose = null;
    if (payload !== null && !this.#closeSent && !this.#ended) {
      this.#closeSent = true;
      this.#sendControl(Opcode.Close, payload);
    }
    // Whatever is queued (the close frame) goes first, for a bounded time.
    const timer = setTimeout(() => this.inner.close(), CLOSE_WRITE_MS);
    this.#chain.finally(() => {
      clearTimeout(timer);
      this.inner.close();
    });
  }

  // ------------------------------------------------------------ FrameHandler

  onPayload(bytes: Uint8Array): void {
    this.#onData(bytes);
  }

  onControl(opcode: number, payload: Uint8Array): void {
    if (opcode === Opcode.Ping) {
      this.#sendControl(Opcode.Pong, payload);
    } else if (opcode === Opcode.Close) {
      // Echo it, then end as a client close (nats-server stops reading here).
      this.#closeSent = true;
      this.#sendControl(Opcode.Close, closeReply(payload));
      this.#onClose();
    }
  }

  onProtocolError(message: string): void {
    this.#closeSent = true;
    this.#sendControl(Opcode.Close, closePayload(CloseStatus.ProtocolError, message));
    this.#onClose(new WebSocketReadError(message));
  }

  onFatal(message: string): void {
    this.#onClose(new WebSocketReadError(message));
  }

  // ------------------------------------------------------------ writing

  #sendControl(opcode: number, payload: Uint8Array): void {
    this.#enqueue(controlFrame(opcode, payload)).catch(() => {/* the connection is gone */});
  }

  #enqueue(bytes: Uint8Array, scratch = false): Promise<void> {
    const inner = this.inner;
    // Nothing in flight: start the write now, as a plain transport does (a flush
    // in the middle of a chunk must reach the socket before the chunk is done).
    const p = this.#queued === 0 ? inner.write(bytes) : this.#chain.then(() => inner.write(bytes));
    this.#queued++;
    const done = p.finally(() => {
      this.#queued--;
      if (scratch) this.#scratchBusy = false;
    });
    this.#chain = done.catch(() => {});
    return done;
  }

  /** A buffer of at least `n` bytes for one write (the kept one when it is free). */
  #buffer(n: number): Uint8Array {
    if (this.#scratchBusy || n > KEEP_SCRATCH) return new Uint8Array(n);
    // An idle connection does not keep a big buffer from a burst.
    if (n < this.#scratch.length >> 3 && this.#scratch.length > 16 * 1024) {
      if (++this.#smallWrites > SHRINK_AFTER) {
        this.#scratch = EMPTY;
        this.#smallWrites = 0;
      }
    } else this.#smallWrites = 0;
    if (this.#scratch.length < n) {
      this.#scratch = new Uint8Array(Math.max(n, Math.min(KEEP_SCRATCH, this.#scratch.length * 2)));
    }
    this.#scratchBusy = true;
    return this.#scratch;
  }

  /** Frames what the connection wrote, as nats-server frames a flush. */
  #frame(data: Uint8Array): Uint8Array {
    const up = this.upgrade!;
    const maxFrame = up.browser ? BROWSER_FRAME : 0;
    if (up.compress && data.length > COMPRESS_THRESHOLD) {
      const z = deflateRawSync(data, { level: 1, finishFlush: 2 /* Z_SYNC_FLUSH */ });
      // The sync flush ends with 00 00 ff ff, which permessage-deflate leaves out.
      const body = z.subarray(0, z.length - 4);
      const limit = maxFrame > 0 && !up.noCompressedFragments ? maxFrame : 0;
      return this.#frames(body, limit, true);
    }
    return this.#frames(data, maxFrame, false);
  }

  /**
   * One frame, or frames of at most `limit` bytes: separate binary messages
   * when uncompressed, fragments of one message when compressed (only the
   * first marked compressed), as nats-server does.
   */
  #frames(body: Uint8Array, limit: number, compressed: boolean): Uint8Array {
    const total = body.length;
    if (limit === 0 || total <= limit) {
      const h = headerLength(total);
      const out = this.#buffer(h + total);
      encodeHeader(out, 0, Opcode.Binary, true, compressed, total);
      out.set(body, h);
      return out.subarray(0, h + total);
    }
    const count = Math.ceil(total / limit);
    const out = this.#buffer(total + count * MAX_HEADER);
    let w = 0;
    for (let off = 0, i = 0; off < total; off += limit, i++) {
      const n = Math.min(limit, total - off);
      const first = i === 0;
      const last = off + n >= total;
      const op = compressed && !first ? Opcode.Continuation : Opcode.Binary;
      w += encodeHeader(out, w, op, compressed ? last : true, compressed && first, n);
      out.set(body.subarray(off, off + n), w);
      w += n;
    }
    return out.subarray(0, w);
  }
}
