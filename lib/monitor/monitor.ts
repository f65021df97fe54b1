/**
 * Starts the monitoring listener (HTTP with `Deno.serve`, or HTTPS with
 * `node:https` so a renewed certificate can be swapped in without a restart)
 * and returns the handle the server keeps.
 *
 * @module
 */
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { MonitoredServer } from "../server.ts";
import type { MonitorHandle } from "../server/feature_handles.ts";
import { joinHostPort } from "../conn/address.ts";
import { createMonitorHandler, type MonitorHandler } from "./http_handler.ts";
import { LISTEN_BACKLOG } from "../ops/listen_backlog.ts";
import { HTTPS_NEEDS_TLS, httpsHasCertificate } from "../tls/https_check.ts";
import { isBindError, monitorListenError } from "../server/listen_error.ts";
import { keepAccepting } from "../server/node_accept.ts";

/** What {@linkcode startMonitoring} returns. */
export interface MonitorServerHandle extends MonitorHandle {
  /** The request handler (also usable without a socket, e.g. in tests). */
  readonly handler: MonitorHandler;
}

/**
 * Binds the monitoring port chosen by the options and logs
 * `Starting http monitor on <host>:<port>` (or `https`) as nats-server does.
 *
 * @throws {Error} when both HTTP and HTTPS ports are set, when HTTPS has no
 *   certificate and key, or when the port cannot be bound.
 */
export async function startMonitoring(server: MonitoredServer): Promise<MonitorServerHandle> {
  const o = server.options;
  if (o.httpPort !== 0 && o.httpsPort !== 0) {
    throw new Error(`can't specify both HTTP (${o.httpPort}) and HTTPs (${o.httpsPort}) ports`);
  }
  const host = o.httpHost ?? o.host;
  const ports = { httpPort: 0, httpsPort: 0 };
  const handler = createMonitorHandler(server, ports);
  const bindFailed = (e: unknown, port: number) =>
    isBindError(e) ? monitorListenError(e, host, port === -1 ? 0 : port) : e;
  if (o.httpsPort !== 0) {
    const handle = await startHttps(server, handler, { host, port: o.httpsPort }).catch((e) => {
      throw bindFailed(e, o.httpsPort);
    });
    ports.httpsPort = handle.httpsPort;
    server.log.notice(`Starting https monitor on ${joinHostPort(host, handle.httpsPort)}`);
    return handle;
  }
  let httpServer: Deno.HttpServer<Deno.NetAddr>;
  try {
    httpServer = serveHttp(server, handler, host, o.httpPort);
  } catch (e) {
    throw bindFailed(e, o.httpPort);
  }
  ports.httpPort = httpServer.addr.port;
  server.log.notice(`Starting http monitor on ${joinHostPort(host, ports.httpPort)}`);
  return {
    httpPort: ports.httpPort,
    httpsPort: 0,
    handler,
    reqStats: handler.reqStats,
    setCertificate: () => {},
    close: () => httpServer.shutdown(),
  };
}

function serveHttp(
  server: MonitoredServer,
  handler: MonitorHandler,
  host: string,
  port: number,
): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({
    hostname: host,
    port: port === -1 ? 0 : port,
    tcpBacklog: LISTEN_BACKLOG,
    // Deno prints its own "Listening on" line otherwise.
    onListen: () => {},
    onError: (e) => {
      server.log.error(`Monitoring: ${(e as Error).message}`);
      return new Response("internal error", { status: 500 });
    },
  }, (req) => handler(req));
}

async function startHttps(
  server: MonitoredServer,
  handler: MonitorHandler,
  where: { host: string; port: number },
): Promise<MonitorServerHandle> {
  const tls = server.options.tls;
  const haveFiles = Boolean(tls?.certFile && tls?.keyFile);
  // With ACME the certificate may arrive later, through setCertificate().
  if (!httpsHasCertificate(tls)) throw new Error(HTTPS_NEEDS_TLS);
  // Monitoring starts before the first certificate is there; it arrives
  // through setCertificate() (a stored one may already be loaded).
  const held = haveFiles ? undefined : server.acme?.pemFor("client");
  let secure: { cert?: string; key?: string } = held
    ? { cert: held.certPem, key: held.keyPem }
    : {};
  if (haveFiles) {
    try {
      secure = {
        cert: Deno.readTextFileSync(tls!.certFile!),
        key: Deno.readTextFileSync(tls!.keyFile!),
      };
    } catch (e) {
      // acme env mode: letsgo-nats' files appear with the first certificate.
      if (!server.acme) throw e;
    }
  }
  // Client certificates are not asked for: monitoring never verifies clients.
  const https: HttpsServer = createHttpsServer(
    { ...secure, requestCert: false },
    (req, res) => serveNode(handler, req, res, server),
  );
  await new Promise<void>((resolve, reject) => {
    https.once("error", reject);
    https.listen(where.port === -1 ? 0 : where.port, where.host, LISTEN_BACKLOG, () => {
      https.off("error", reject);
      resolve();
    });
  });
  const port = (https.address() as { port: number }).port;
  const stopRearming = keepAccepting(https); // survives running out of file descriptors
  return {
    httpPort: 0,
    httpsPort: port,
    handler,
    reqStats: handler.reqStats,
    setCertificate: (cert, key) => https.setSecureContext({ cert, key }),
    close: () =>
      new Promise<void>((resolve) => {
        stopRearming();
        https.close(() => resolve());
        // Idle keep-alive connections would hold close() open. Node-compat: the
        // method exists at run time but not in every node:https type version.
        (https as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}

/** Adapts a node:http request to the `(Request) => Response` handler. */
function serveNode(
  handler: MonitorHandler,
  req: IncomingMessage,
  res: ServerResponse,
  server: MonitoredServer,
): void {
  // Monitoring requests carry no body that matters: drain it, answer from the URL.
  req.resume();
  let response: Response;
  try {
    response = handler(
      new Request(new URL(req.url ?? "/", "https://monitor"), {
        method: req.method === "GET" || req.method === "HEAD" ? req.method : "GET",
      }),
    );
  } catch (e) {
    server.log.error(`Monitoring: ${(e as Error).message}`);
    res.statusCode = 500;
    res.end();
    return;
  }
  res.statusCode = response.status;
  response.headers.forEach((v, k) => res.setHeader(k, v));
  response.arrayBuffer().then(
    (body) => res.end(new Uint8Array(body)),
    () => res.end(),
  );
}
