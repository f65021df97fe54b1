/**
 * Every `-ERR` text a client connection can receive, byte for byte as
 * nats-server 2.9 sends it (see docs/architecture.md, "Protocol facts").
 *
 * @module
 */
import { ascii } from "./chars.ts";

export const WireError = {
  UnknownProtocol: "Unknown Protocol Operation",
  AuthorizationViolation: "Authorization Violation",
  AuthenticationTimeout: "Authentication Timeout",
  MaxPayload: "Maximum Payload Violation",
  MaxControlLine: "maximum control line exceeded",
  MaxConnections: "maximum connections exceeded",
  MaxAccountConnections: "maximum account active connections exceeded",
  MaxSubscriptions: "maximum subscriptions exceeded",
  InvalidSubject: "Invalid Subject",
  InvalidPublishSubject: "Invalid Publish Subject",
  InvalidClientProtocol: "invalid client protocol",
  NoRespondersRequiresHeaders: "no responders requires headers support",
  StaleConnection: "Stale Connection",
  TlsRequired: "Secure Connection - TLS Required",
  ConnectionThrottling: "Connection throttling is active. Please try again later.",
  IncorrectRoutePort: "attempted to connect to route port",
} as const;
export type WireError = typeof WireError[keyof typeof WireError];

/** `-ERR '<text>'\r\n` as bytes. */
export function errLine(text: string): Uint8Array {
  return new TextEncoder().encode(`-ERR '${text}'\r\n`);
}

/** `-ERR 'Permissions Violation for Publish to "<subject>"'`. */
export function pubViolation(subject: string): string {
  return `Permissions Violation for Publish to "${subject}"`;
}

/** `-ERR 'Permissions Violation for Publish with Reply of "<reply>"'`. */
export function replyViolation(reply: string): string {
  return `Permissions Violation for Publish with Reply of "${reply}"`;
}

/** Subscription violation, with the queue form when a queue group was given. */
export function subViolation(subject: string, queue: string | null): string {
  return queue === null
    ? `Permissions Violation for Subscription to "${subject}"`
    : `Permissions Violation for Subscription to "${subject}" using queue "${queue}"`;
}

export const OK_LINE = ascii("+OK\r\n");
export const PING_LINE = ascii("PING\r\n");
export const PONG_LINE = ascii("PONG\r\n");
