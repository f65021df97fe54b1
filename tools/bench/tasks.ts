/**
 * Messages between the bench's main thread and its load Workers. Each Worker
 * runs one role: publisher, subscriber or responder, on its own raw socket, so
 * publishing and counting run on different threads (and cores) than the
 * coordinator.
 *
 * @module
 */
import type { Creds, TlsClient } from "./raw.ts";

/** One subscription of a subscriber Worker. */
export interface SubSpec {
  subject: string;
  queue?: string;
}

/** Publish `count` messages round-robin over `subjects`, as fast as the socket takes them. */
export interface PubTask {
  role: "pub";
  port: number;
  creds?: Creds;
  tls?: TlsClient;
  subjects: string[];
  payloadSize: number;
  count: number;
  /** Stop early after this long, so a slow server cannot stretch a run. */
  maxMs: number;
  /** Write the message's sequence number at the start of each payload. */
  seq: boolean;
  /** `MSG` frames instead of `PUB` (for the relay ceiling, which forwards bytes unparsed). */
  verb?: "PUB" | "MSG";
}

/** Subscribe, then count deliveries until told to stop. */
export interface SubTask {
  role: "sub";
  port: number;
  creds?: Creds;
  tls?: TlsClient;
  subs: SubSpec[];
  /** Only messages of this payload size count (cluster probes are smaller). */
  payloadSize: number;
  /** When set, record per-sequence delivery counts for sequences below this. */
  seqCapacity?: number;
}

/** Answer every request on `subject` with a 16-byte reply. */
export interface ResponderTask {
  role: "responder";
  port: number;
  creds?: Creds;
  tls?: TlsClient;
  subject: string;
  /** `MSG` replies instead of `PUB` (for the relay ceiling, which forwards bytes unparsed). */
  verb?: "PUB" | "MSG";
}

/** The first message a Worker receives. */
export type WorkerTask = PubTask | SubTask | ResponderTask;

/** Later messages from the main thread. */
export type WorkerCommand = { type: "go" } | { type: "poll" } | { type: "stop" };

/** Absolute times are `performance.timeOrigin + performance.now()`, comparable across threads. */
export interface PubDone {
  type: "done";
  sent: number;
  startAbs: number;
  /** All batches handed to the socket. */
  writtenAbs: number;
  /** PONG after the last batch: the server has processed every PUB. */
  endAbs: number;
  /** This Worker's thread CPU from start to PONG, % of one core (NaN if unknown). */
  cpuPct: number;
}

/** Final report of a subscriber. */
export interface SubDone {
  type: "done";
  count: number;
  other: number;
  firstAbs: number;
  lastAbs: number;
  /** This Worker's thread CPU from the first delivery on, % of one core (NaN if unknown). */
  cpuPct: number;
  closedByServer: boolean;
  errors: string[];
  seqCounts?: Uint8Array;
}

/** Final report of a responder. */
export interface ResponderDone {
  type: "done";
  answered: number;
}

/** Messages a Worker posts. */
export type WorkerReport =
  | { type: "ready"; subscribeMs: number }
  | { type: "count"; count: number; other: number; closed: boolean }
  | { type: "error"; message: string }
  | PubDone
  | SubDone
  | ResponderDone;

/** Wall-clock time in ms with sub-ms resolution, comparable between Workers. */
export function absNow(): number {
  return performance.timeOrigin + performance.now();
}
