/**
 * WebSocket frames (RFC 6455) as nats-server 2.9 reads and writes them: a
 * streaming decoder that unmasks client payloads in place and checks frames
 * with nats-server's rules and messages, and the header and close-payload
 * encoders for what the server sends (never masked).
 *
 * @example
 * ```ts
 * import { encodeHeader, FrameDecoder, Opcode } from "./frame.ts";
 * const got: string[] = [];
 * const d = new FrameDecoder({
 *   onPayload: (b) => got.push(new TextDecoder().decode(b)),
 *   onControl: () => {},
 *   onProtocolError: (m) => got.push("error: " + m),
 *   onFatal: (m) => got.push("fatal: " + m),
 * }, { mask: false, maxInflated: 1 << 20 });
 * const payload = new TextEncoder().encode("PING\r\n");
 * const frame = new Uint8Array(2 + payload.length);
 * encodeHeader(frame, 0, Opcode.Binary, true, false, payload.length);
 * frame.set(payload, 2);
 * d.decode(frame);
 * console.assert(got[0] === "PING\r\n");
 * ```
 *
 * @module
 */
import { inflateRawSync } from "node:zlib";

export const Opcode = {
  Continuation: 0,
  Text: 1,
  Binary: 2,
  Close: 8,
  Ping: 9,
  Pong: 10,
} as const;

/** Close status codes nats-server uses (RFC 6455 section 7.4.1). */
export const CloseStatus = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  NoStatusReceived: 1005,
  Abnormal: 1006,
  InvalidPayloadData: 1007,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  InternalError: 1011,
  TlsHandshake: 1015,
} as const;

const FIN = 0x80;
const RSV1 = 0x40;
const MASK_BIT = 0x80;
/** Largest control frame payload. */
export const MAX_CONTROL_PAYLOAD = 125;
/** Largest server frame header (no mask). */
export const MAX_HEADER = 10;
/** What permessage-deflate strips from, and a reader appends to, a message (RFC 7692). */
const INFLATE_TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff]);
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** What the decoder reports. Payload views are only valid during the call. */
export interface FrameHandler {
  /** Unmasked (and inflated) message bytes, in order; frames may split or join protocol lines. */
  onPayload(bytes: Uint8Array): void;
  /** A complete ping, pong or close frame. */
  onControl(opcode: number, payload: Uint8Array): void;
  /**
   * A frame breaks the protocol: nats-server answers with a close frame
   * (1002 and this text) and closes the connection as a read error.
   */
  onProtocolError(message: string): void;
  /** A compressed message would not inflate: closed as a read error, no close frame. */
  onFatal(message: string): void;
}

export interface DecoderSettings {
  /** Client frames must be masked (false only when the client asked for no masking). */
  mask: boolean;
  /** Largest inflated message; a bigger one is a fatal error. */
  maxInflated: number;
}

/** Streaming decoder of client frames; feed it chunks as they arrive. */
export class FrameDecoder {
  readonly #h: FrameHandler;
  readonly #mask: boolean;
  readonly #maxInflated: number;
  /** Header bytes seen so far (a header may span chunks). */
  readonly #hdr = new Uint8Array(14);
  #hdrLen = 0;
  #hdrNeed = 2;
  #inHeader = true;
  /** Payload bytes left in the current frame. */
  #rem = 0;
  readonly #key = new Uint8Array(4);
  #keyPos = 0;
  /** Opcode of the control frame being read, -1 while reading data. */
  #ctlOp = -1;
  readonly #ctl = new Uint8Array(MAX_CONTROL_PAYLOAD);
  #ctlLen = 0;
  /** The last data frame had FIN (a new message may start). */
  #finalSeen = true;
  /** The current message is compressed. */
  #compressed = false;
  #fragments: Uint8Array[] = [];
  #fragmentBytes = 0;
  #stopped = false;

  constructor(handler: FrameHandler, settings: DecoderSettings) {
    this.#h = handler;
    this.#mask = settings.mask;
    this.#maxInflated = settings.maxInflated;
  }

  /** Stops decoding (after a close frame or an error); later chunks are ignored. */
  stop(): void {
    this.#stopped = true;
    this.#fragments = [];
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /**
   * Decodes one chunk. Data payloads are unmasked in place and moved down
   * over the frame headers, so every run of data between control frames is
   * handed over as one view of `chunk` (no copy, no allocation).
   */
  decode(chunk: Uint8Array): void {
    const len = chunk.length;
    let pos = 0;
    let outStart = 0;
    let out = 0;
    while (pos < len && !this.#stopped) {
      if (this.#inHeader) {
        const take = Math.min(this.#hdrNeed - this.#hdrLen, len - pos);
        this.#hdr.set(chunk.subarray(pos, pos + take), this.#hdrLen);
        this.#hdrLen += take;
        pos += take;
        if (this.#hdrLen === 2 && this.#hdrNeed === 2) {
          const problem = this.#checkStart();
          if (problem !== null) {
            if (out > outStart) this.#h.onPayload(chunk.subarray(outStart, out));
            this.stop();
            this.#h.onProtocolError(problem);
            return;
          }
        }
        if (this.#hdrLen < this.#hdrNeed) continue;
        this.#headerDone();
        if (this.#ctlOp >= 0) {
          if (this.#rem === 0) {
            if (out > outStart) this.#h.onPayload(chunk.subarray(outStart, out));
            outStart = out;
            this.#controlDone();
          }
          continue;
        }
        if (this.#rem === 0) {
          if (this.#compressed && this.#finalSeen) {
            if (out > outStart) this.#h.onPayload(chunk.subarray(outStart, out));
            outStart = out;
            this.#inflateMessage();
          }
          this.#startHeader();
        }
        continue;
      }
      // Payload bytes of the current frame.
      const n = Math.min(this.#rem, len - pos);
      if (this.#mask) this.#unmask(chunk, pos, pos + n);
      this.#rem -= n;
      if (this.#ctlOp >= 0) {
        this.#ctl.set(chunk.subarray(pos, pos + n), this.#ctlLen);
        this.#ctlLen += n;
        pos += n;
        if (this.#rem === 0) {
          if (out > outStart) this.#h.onPayload(chunk.subarray(outStart, out));
          outStart = out;
          this.#controlDone();
        }
        continue;
      }
      if (this.#compressed) {
        this.#fragments.push(chunk.slice(pos, pos + n));
        this.#fragmentBytes += n;
        pos += n;
        if (this.#rem === 0) {
          if (this.#finalSeen) {
            if (out > outStart) this.#h.onPayload(chunk.subarray(outStart, out));
            outStart = out;
            this.#inflateMessage();
          }
          this.#startHeader();
        }
        continue;
      }
      if (out !== pos) chunk.copyWithin(out, pos, pos + n);
      out += n;
      pos += n;
      if (this.#rem === 0) this.#startHeader();
    }
    if (out > outStart && !this.#stopped) this.#h.onPayload(chunk.subarray(outStart, out));
  }

  #startHeader(): void {
    this.#inHeader = true;
    this.#hdrLen = 0;
    this.#hdrNeed = 2;
  }

  /** Checks the first two header bytes in nats-server's order; returns the problem, if any. */
  #checkStart(): string | null {
    const b0 = this.#hdr[0];
    const b1 = this.#hdr[1];
    const op = b0 & 0x0f;
    const final = (b0 & FIN) !== 0;
    const compressed = (b0 & RSV1) !== 0;
    if (this.#mask && (b1 & MASK_BIT) === 0) return "mask bit missing";
    const len7 = b1 & 0x7f;
    switch (op) {
      case Opcode.Ping:
      case Opcode.Pong:
      case Opcode.Close:
        if (len7 > MAX_CONTROL_PAYLOAD) {
          return `control frame length bigger than maximum allowed of ${MAX_CONTROL_PAYLOAD} bytes`;
        }
        if (!final) return "control frame does not have final bit set";
        this.#ctlOp = op;
        break;
      case Opcode.Text:
      case Opcode.Binary:
        if (!this.#finalSeen) {
          return "new message started before final frame for previous message was received";
        }
        this.#finalSeen = final;
        this.#compressed = compressed;
        this.#ctlOp = -1;
        break;
      case Opcode.Continuation:
        if (this.#finalSeen || compressed) return "invalid continuation frame";
        this.#finalSeen = final;
        this.#ctlOp = -1;
        break;
      default:
        return `unknown opcode ${op}`;
    }
    this.#hdrNeed = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (this.#mask ? 4 : 0);
    return null;
  }

  #headerDone(): void {
    const h = this.#hdr;
    const len7 = h[1] & 0x7f;
    let at = 2;
    if (len7 === 126) {
      this.#rem = (h[2] << 8) | h[3];
      at = 4;
    } else if (len7 === 127) {
      // Beyond 2^53 the count is approximate; such a frame never ends anyway.
      const hi = ((h[2] << 24) | (h[3] << 16) | (h[4] << 8) | h[5]) >>> 0;
      const lo = ((h[6] << 24) | (h[7] << 16) | (h[8] << 8) | h[9]) >>> 0;
      this.#rem = hi * 2 ** 32 + lo;
      at = 10;
    } else {
      this.#rem = len7;
    }
    if (this.#mask) {
      this.#key.set(h.subarray(at, at + 4));
      this.#keyPos = 0;
    }
    this.#inHeader = false;
    this.#ctlLen = 0;
  }

  #controlDone(): void {
    const op = this.#ctlOp;
    this.#ctlOp = -1;
    this.#startHeader();
    if (op === Opcode.Close) this.stop();
    this.#h.onControl(op, this.#ctl.subarray(0, this.#ctlLen));
  }

  #inflateMessage(): void {
    const parts = this.#fragments;
    const total = this.#fragmentBytes + INFLATE_TAIL.length;
    this.#fragments = [];
    this.#fragmentBytes = 0;
    this.#compressed = false;
    const input = new Uint8Array(total);
    let off = 0;
    for (const p of parts) {
      input.set(p, off);
      off += p.length;
    }
    input.set(INFLATE_TAIL, off);
    let plain: Uint8Array;
    try {
      plain = inflateRawSync(input, { maxOutputLength: this.#maxInflated });
    } catch (e) {
      this.stop();
      this.#h.onFatal(`flate: ${(e as Error).message}`);
      return;
    }
    if (plain.length > 0) this.#h.onPayload(plain);
  }

  /** XORs `b[from..to)` with the frame's key, continuing where the last call stopped. */
  #unmask(b: Uint8Array, from: number, to: number): void {
    const k = this.#key;
    let p = this.#keyPos;
    let i = from;
    // Byte by byte until the key is back at its start, then four at a time.
    while (i < to && p !== 0) {
      b[i++] ^= k[p];
      p = (p + 1) & 3;
    }
    const k0 = k[0], k1 = k[1], k2 = k[2], k3 = k[3];
    const end4 = to - ((to - i) & 3);
    while (i < end4) {
      b[i] ^= k0;
      b[i + 1] ^= k1;
      b[i + 2] ^= k2;
      b[i + 3] ^= k3;
      i += 4;
    }
    while (i < to) {
      b[i++] ^= k[p];
      p = (p + 1) & 3;
    }
    this.#keyPos = p;
  }
}

/**
 * Writes a server frame header (unmasked) at `buf[off]`.
 * @returns the header length (2, 4 or 10)
 */
export function encodeHeader(
  buf: Uint8Array,
  off: number,
  opcode: number,
  final: boolean,
  compressed: boolean,
  length: number,
): number {
  buf[off] = opcode | (final ? FIN : 0) | (compressed ? RSV1 : 0);
  if (length <= 125) {
    buf[off + 1] = length;
    return 2;
  }
  if (length < 65536) {
    buf[off + 1] = 126;
    buf[off + 2] = length >>> 8;
    buf[off + 3] = length & 0xff;
    return 4;
  }
  buf[off + 1] = 127;
  const hi = Math.floor(length / 2 ** 32);
  const lo = length >>> 0;
  buf[off + 2] = hi >>> 24;
  buf[off + 3] = (hi >>> 16) & 0xff;
  buf[off + 4] = (hi >>> 8) & 0xff;
  buf[off + 5] = hi & 0xff;
  buf[off + 6] = lo >>> 24;
  buf[off + 7] = (lo >>> 16) & 0xff;
  buf[off + 8] = (lo >>> 8) & 0xff;
  buf[off + 9] = lo & 0xff;
  return 10;
}

/** Length of the header {@link encodeHeader} writes for a payload of `length`. */
export function headerLength(length: number): number {
  return length <= 125 ? 2 : length < 65536 ? 4 : 10;
}

/**
 * A close frame payload: the status, then the text, cut to fit a control
 * frame with `...` at the end (nats-server's rule).
 */
export function closePayload(status: number, text: string): Uint8Array {
  let body = new TextEncoder().encode(text);
  if (body.length > MAX_CONTROL_PAYLOAD - 2) {
    const cut = new Uint8Array(MAX_CONTROL_PAYLOAD - 2);
    cut.set(body.subarray(0, MAX_CONTROL_PAYLOAD - 5));
    cut.set([0x2e, 0x2e, 0x2e], MAX_CONTROL_PAYLOAD - 5);
    body = cut;
  }
  const out = new Uint8Array(2 + body.length);
  out[0] = status >>> 8;
  out[1] = status & 0xff;
  out.set(body, 2);
  return out;
}

/**
 * The answer to a client's close frame: its status echoed (1005 when it had
 * none), or 1007 when its text is not valid UTF-8 (nats-server).
 */
export function closeReply(payload: Uint8Array): Uint8Array {
  if (payload.length < 2) return closePayload(CloseStatus.NoStatusReceived, "");
  const status = (payload[0] << 8) | payload[1];
  if (payload.length === 2) return closePayload(status, "");
  try {
    return closePayload(status, utf8.decode(payload.subarray(2)));
  } catch {
    return closePayload(CloseStatus.InvalidPayloadData, "invalid utf8 body in close frame");
  }
}

/** A whole control frame (server side: unmasked). */
export function controlFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + payload.length);
  out[0] = FIN | opcode;
  out[1] = payload.length;
  out.set(payload, 2);
  return out;
}
