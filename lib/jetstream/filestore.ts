/**
 * The file store: one append-only log per stream (`msgs.log`) next to its
 * configuration (`meta.json`), under `<store_dir>/jetstream/$G/streams/<name>/`.
 * The format is dnatsd's own (docs/jetstream.md), not nats-server's.
 *
 * Sync policy: every record is written and `fdatasync`ed before the publish
 * is acknowledged, so an acknowledged message survives kill -9 and power
 * loss. Messages that arrive together are synced together (one
 * `fdatasync` for all the publishes of one read, then their acks). Recovery reads records until the first one that is short or whose
 * CRC-32 does not match (a torn last write), truncates the file there, and
 * replays the rest.
 *
 * @module
 */
import type { StoredMsg } from "./stream.ts";

/** Record kinds. */
const MSG = 1;
const DELETE = 2;
const PURGE = 3;
/** kind(1) + body length(4) before the body, CRC-32(4) after it. */
const FRAME = 9;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

let crcTable: Uint32Array | null = null;

/** CRC-32 (IEEE), as zlib computes it. */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  if (crcTable === null) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** What a log holds after recovery, in order. */
export type LogRecord =
  | { kind: "msg"; msg: StoredMsg }
  | { kind: "delete"; seq: number }
  | { kind: "purge"; firstSeq: number };

/** A stream's directory: configuration and message log. */
export class StreamFiles {
  readonly dir: string;
  #file: Deno.FsFile | null = null;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Writes the configuration and creation time (write to a temp file, sync, rename). */
  writeMeta(meta: unknown): void {
    Deno.mkdirSync(this.dir, { recursive: true });
    const tmp = `${this.dir}/meta.json.tmp`;
    const f = Deno.openSync(tmp, { write: true, create: true, truncate: true });
    try {
      writeAll(f, encoder.encode(JSON.stringify(meta)));
      f.syncSync();
    } finally {
      f.close();
    }
    Deno.renameSync(tmp, `${this.dir}/meta.json`);
    syncDir(this.dir);
  }

  /** Saves a durable consumer's configuration and state (`obs/<name>.json`). */
  writeConsumer(name: string, record: unknown): void {
    const dir = `${this.dir}/obs`;
    Deno.mkdirSync(dir, { recursive: true });
    const tmp = `${dir}/${name}.json.tmp`;
    const f = Deno.openSync(tmp, { write: true, create: true, truncate: true });
    try {
      writeAll(f, encoder.encode(JSON.stringify(record)));
      f.syncDataSync();
    } finally {
      f.close();
    }
    Deno.renameSync(tmp, `${dir}/${name}.json`);
  }

  removeConsumer(name: string): void {
    try {
      Deno.removeSync(`${this.dir}/obs/${name}.json`);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }

  /** The saved consumers, by name. */
  readConsumers(): Array<[string, unknown]> {
    const out: Array<[string, unknown]> = [];
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(`${this.dir}/obs`)];
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return out;
      throw e;
    }
    for (const e of entries) {
      if (!e.isFile || !e.name.endsWith(".json")) continue;
      out.push([
        e.name.slice(0, -5),
        JSON.parse(Deno.readTextFileSync(`${this.dir}/obs/${e.name}`)),
      ]);
    }
    return out.sort((a, b) => a[0] < b[0] ? -1 : 1);
  }

  readMeta(): unknown {
    return JSON.parse(Deno.readTextFileSync(`${this.dir}/meta.json`));
  }

  /** Reads the log, cuts a torn tail, and opens it for appending. */
  recover(): { records: LogRecord[]; truncatedBytes: number } {
    const path = `${this.dir}/msgs.log`;
    let data: Uint8Array;
    try {
      data = Deno.readFileSync(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      data = new Uint8Array(0);
    }
    const records: LogRecord[] = [];
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let p = 0;
    while (p + FRAME <= data.length) {
      const kind = data[p];
      const len = view.getUint32(p + 1);
      const end = p + 5 + len;
      if (end + 4 > data.length) break;
      if (view.getUint32(end) !== crc32(data, p, end)) break;
      const rec = decodeRecord(kind, data, view, p + 5, end);
      if (rec === null) break;
      records.push(rec);
      p = end + 4;
    }
    const truncatedBytes = data.length - p;
    this.#file = Deno.openSync(path, { read: true, write: true, create: true });
    if (truncatedBytes > 0) {
      this.#file.truncateSync(p);
      this.#file.syncSync();
    }
    this.#file.seekSync(p, Deno.SeekMode.Start);
    return { records, truncatedBytes };
  }

  /** Written but not yet synced (messages wait for {@linkcode sync}: a group commit). */
  dirty = false;

  /** Syncs what appendMsg wrote; the acks of those messages go out after this. */
  sync(): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.#file!.syncDataSync();
  }

  appendMsg(m: StoredMsg): void {
    const subj = encoder.encode(m.subject);
    const hlen = m.hdr?.length ?? 0;
    const body = new Uint8Array(8 + 8 + 2 + 4 + 4 + subj.length + hlen + m.data.length);
    const v = new DataView(body.buffer);
    v.setBigUint64(0, BigInt(m.seq));
    v.setBigUint64(8, m.ts);
    v.setUint16(16, subj.length);
    v.setUint32(18, hlen);
    v.setUint32(22, m.data.length);
    body.set(subj, 26);
    if (m.hdr) body.set(m.hdr, 26 + subj.length);
    body.set(m.data, 26 + subj.length + hlen);
    this.#append(MSG, body, false);
    this.dirty = true;
  }

  appendDelete(seq: number): void {
    this.#append(DELETE, seqBody(seq));
  }

  appendPurge(firstSeq: number): void {
    this.#append(PURGE, seqBody(firstSeq));
  }

  #append(kind: number, body: Uint8Array, sync = true): void {
    const rec = new Uint8Array(FRAME + body.length);
    const v = new DataView(rec.buffer);
    rec[0] = kind;
    v.setUint32(1, body.length);
    rec.set(body, 5);
    v.setUint32(5 + body.length, crc32(rec, 0, 5 + body.length));
    writeAll(this.#file!, rec);
    if (sync) {
      this.#file!.syncDataSync();
      this.dirty = false;
    }
  }

  close(): void {
    this.#file?.close();
    this.#file = null;
  }

  /** Removes the stream's files (stream deleted). */
  remove(): void {
    this.close();
    Deno.removeSync(this.dir, { recursive: true });
  }
}

function seqBody(seq: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(seq));
  return b;
}

function decodeRecord(
  kind: number,
  data: Uint8Array,
  v: DataView,
  start: number,
  end: number,
): LogRecord | null {
  if (kind === DELETE || kind === PURGE) {
    if (end - start !== 8) return null;
    const seq = Number(v.getBigUint64(start));
    return kind === DELETE ? { kind: "delete", seq } : { kind: "purge", firstSeq: seq };
  }
  if (kind !== MSG || end - start < 26) return null;
  const seq = Number(v.getBigUint64(start));
  const ts = v.getBigUint64(start + 8);
  const slen = v.getUint16(start + 16);
  const hlen = v.getUint32(start + 18);
  const dlen = v.getUint32(start + 22);
  if (26 + slen + hlen + dlen !== end - start) return null;
  const s = start + 26;
  return {
    kind: "msg",
    msg: {
      seq,
      ts,
      subject: decoder.decode(data.subarray(s, s + slen)),
      hdr: hlen > 0 ? data.slice(s + slen, s + slen + hlen) : null,
      data: data.slice(s + slen + hlen, s + slen + hlen + dlen),
    },
  };
}

function writeAll(f: Deno.FsFile, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += f.writeSync(bytes.subarray(off));
}

/** Makes a rename durable (the directory entry). */
function syncDir(dir: string): void {
  try {
    const d = Deno.openSync(dir, { read: true });
    try {
      d.syncSync();
    } finally {
      d.close();
    }
  } catch {
    // Some systems cannot open a directory for sync; the rename still happened.
  }
}
