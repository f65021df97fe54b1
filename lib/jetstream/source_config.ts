/**
 * The `mirror` and `sources` entries of a stream configuration, read as
 * nats-server reads them (lib/jetstream/mirror.ts does the copying).
 *
 * @module
 */
import { JSErr } from "./errors.ts";

/** One `mirror` or `sources` entry as JSON carries it. */
export interface StreamSource {
  name: string;
  opt_start_seq?: number;
  opt_start_time?: string;
  filter_subject?: string;
}

/** Reads a `mirror` or `sources` entry (shape only; see checkSourcing for the rest). */
export function readSource(v: unknown): StreamSource {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw JSErr.invalidJson();
  const r = v as Record<string, unknown>;
  if (typeof r.name !== "string") throw JSErr.invalidJson();
  const ext = r.external;
  if (ext !== undefined && ext !== null) {
    throw JSErr.notSupported(
      "a mirror or source in another account or domain (external)",
    );
  }
  const out: StreamSource = { name: r.name };
  const seq = r.opt_start_seq;
  if (seq !== undefined && seq !== null) {
    if (typeof seq !== "number" || !Number.isInteger(seq) || seq < 0) throw JSErr.invalidJson();
    if (seq > 0) out.opt_start_seq = seq;
  }
  const time = r.opt_start_time;
  if (time !== undefined && time !== null) {
    if (typeof time !== "string" || Number.isNaN(Date.parse(time))) throw JSErr.invalidJson();
    out.opt_start_time = time;
  }
  const filter = r.filter_subject;
  if (filter !== undefined && filter !== null) {
    if (typeof filter !== "string") throw JSErr.invalidJson();
    if (filter !== "") out.filter_subject = filter;
  }
  return out;
}
