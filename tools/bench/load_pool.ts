/**
 * Main-thread side of the load Workers: start one per role, wait for its
 * reports with deadlines, terminate it in every case.
 *
 * @module
 */
import type { WorkerCommand, WorkerReport, WorkerTask } from "./tasks.ts";

/** Busy share of one load Worker while it was active (publishing, receiving). */
export interface WorkerCpu {
  label: string;
  /** % of one core. */
  pct: number;
}

/** Every Worker's final CPU figure, in order; the runner reads the entries of each workload. */
export const workerCpuLog: WorkerCpu[] = [];

type ReportOf<T extends WorkerReport["type"]> = Extract<WorkerReport, { type: T }>;

/** One load Worker (publisher, subscriber or responder). */
export class LoadWorker {
  readonly label: string;
  readonly #worker: Worker;
  readonly #queue: WorkerReport[] = [];
  #wake: (() => void) | undefined;
  #failure: Error | undefined;

  /** Starts the Worker thread and hands it its task. */
  constructor(label: string, task: WorkerTask) {
    this.label = label;
    this.#worker = new Worker(new URL("./load_worker.ts", import.meta.url).href, {
      type: "module",
    });
    this.#worker.onmessage = (e: MessageEvent<WorkerReport>) => {
      if (e.data.type === "error") this.#failure ??= new Error(`${label}: ${e.data.message}`);
      else this.#queue.push(e.data);
      if (e.data.type === "done" && "cpuPct" in e.data && Number.isFinite(e.data.cpuPct)) {
        workerCpuLog.push({ label, pct: e.data.cpuPct });
      }
      this.#wake?.();
    };
    this.#worker.onerror = (e: ErrorEvent) => {
      // Keep the bench alive: the failure is reported through next().
      e.preventDefault();
      this.#failure ??= new Error(`${label}: ${e.message}`);
      this.#wake?.();
    };
    this.#worker.postMessage(task);
  }

  /** Sends a command (go, poll, stop). */
  send(cmd: WorkerCommand): void {
    this.#worker.postMessage(cmd);
  }

  /**
   * Waits for the next report of `type`, dropping others (late poll answers).
   *
   * @throws {Error} when the Worker failed or nothing came within `timeoutMs`.
   */
  async next<T extends WorkerReport["type"]>(type: T, timeoutMs: number): Promise<ReportOf<T>> {
    const deadline = performance.now() + timeoutMs;
    while (true) {
      if (this.#failure !== undefined) throw this.#failure;
      const i = this.#queue.findIndex((r) => r.type === type);
      if (i >= 0) return this.#queue.splice(i, 1)[0] as ReportOf<T>;
      this.#queue.length = 0;
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`${this.label}: no "${type}" report within ${timeoutMs} ms`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
      this.#wake = undefined;
    }
  }

  /** Ends the thread; safe to call twice. */
  terminate(): void {
    this.#worker.terminate();
  }
}

/** Terminates every Worker of a run, whatever state it is in. */
export function terminateAll(workers: Iterable<LoadWorker>): void {
  for (const w of workers) w.terminate();
}
