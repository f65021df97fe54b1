/**
 * The files a running server leaves for other programs: the PID file (`-P`,
 * `pid_file`) and the ports file (`--ports_file_dir`). Written once the
 * listeners are up and moved when a reload changes their location. On a clean
 * exit the ports file is removed and the PID file is left in place, as
 * nats-server 2.9 does (`logPid`, `logPorts`, `deletePortsFile`).
 *
 * @module
 */
import type { Options } from "../config/options.ts";
import type { Logger } from "./logger.ts";
import { removePidFile, writePidFile } from "./pid_file.ts";
import { type PortsInfo, removePortsFile, writePortsFile } from "./ports_file.ts";

/** The parts of the server the ports file describes. */
export interface ListenerFacts {
  readonly options: Options;
  readonly log: Logger;
  readonly clientHost: string;
  readonly clientPort: number;
  readonly monitor: { readonly httpPort: number; readonly httpsPort: number } | null;
  readonly cluster: { readonly port: number } | null;
  /** The WebSocket listener, when there is one (`wss` with TLS). */
  readonly websocket?: { readonly port: number; readonly tls: boolean } | null;
}

/** Keeps the PID and ports files in step with the options. */
export class ProcessFiles {
  #pidFile: string | undefined;
  #portsFile: string | undefined;
  #portsDir: string | undefined;

  /** The PID file currently written, if any. */
  get pidFile(): string | undefined {
    return this.#pidFile;
  }

  /** The ports file currently written, if any. */
  get portsFile(): string | undefined {
    return this.#portsFile;
  }

  /**
   * Writes (or moves) the files the options ask for. Called after start and after
   * a reload; a file whose location did not change is left alone.
   *
   * @param server The running server.
   * @throws nothing: a failure is logged, as nats-server does, and the server runs on.
   */
  sync(server: ListenerFacts): void {
    const o = server.options;
    if (o.pidFile !== this.#pidFile) {
      this.#removePid(server.log);
      if (o.pidFile) {
        try {
          writePidFile(o.pidFile);
          this.#pidFile = o.pidFile;
        } catch (e) {
          server.log.error(`Could not write pidfile: ${(e as Error).message}`);
        }
      }
    }
    const want = o.portsFileDir || undefined;
    if (want === undefined) {
      this.#removePorts(server.log);
    } else if (this.#portsFile === undefined || want !== this.#portsDir) {
      this.#removePorts(server.log);
      try {
        this.#portsFile = writePortsFile(want, portsInfo(server));
        this.#portsDir = want;
      } catch (e) {
        server.log.error(`Error writing ports file to ${want}: ${(e as Error).message}`);
      }
    }
  }

  /** A clean exit: the ports file goes, the PID file stays (as nats-server). */
  exited(log: Logger): void {
    this.#removePorts(log);
  }

  #removePid(log: Logger): void {
    if (this.#pidFile === undefined) return;
    try {
      removePidFile(this.#pidFile);
    } catch (e) {
      log.error(`Error removing pid file ${this.#pidFile}: ${(e as Error).message}`);
    }
    this.#pidFile = undefined;
  }

  #removePorts(log: Logger): void {
    if (this.#portsFile === undefined) return;
    try {
      removePortsFile(this.#portsFile);
    } catch (e) {
      log.error(`Error cleaning up ports file ${this.#portsFile}: ${(e as Error).message}`);
    }
    this.#portsFile = undefined;
    this.#portsDir = undefined;
  }
}

/**
 * The URLs the server really listens on. A wildcard listen address is reported
 * as every local IPv4 address, like nats-server's `PortsInfo`.
 */
export function portsInfo(server: ListenerFacts): PortsInfo {
  const o = server.options;
  const hosts = (h: string | undefined): string[] => {
    const host = h === undefined || h === "" ? "0.0.0.0" : h;
    if (host !== "0.0.0.0" && host !== "::") return [host];
    try {
      const ips = Deno.networkInterfaces().filter((i) => i.family === "IPv4").map((i) => i.address);
      return ips.length > 0 ? ips : ["127.0.0.1"];
    } catch {
      return ["127.0.0.1"];
    }
  };
  const urls = (scheme: string, h: string | undefined, port: number) =>
    hosts(h).map((host) => `${scheme}://${host.includes(":") ? `[${host}]` : host}:${port}`);
  const info: PortsInfo = { nats: urls("nats", server.clientHost, server.clientPort) };
  const m = server.monitor;
  if (m !== null) {
    const mh = o.httpHost ?? o.host;
    info.monitoring = [
      ...(m.httpPort > 0 ? urls("http", mh, m.httpPort) : []),
      ...(m.httpsPort > 0 ? urls("https", mh, m.httpsPort) : []),
    ];
  }
  if (server.cluster !== null && server.cluster.port > 0) {
    info.cluster = urls("nats", o.cluster?.host, server.cluster.port);
  }
  const ws = server.websocket;
  if (ws) info.websocket = urls(ws.tls ? "wss" : "ws", o.websocket?.host, ws.port);
  return info;
}
