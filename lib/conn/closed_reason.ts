/**
 * Why a connection closed, with the strings /connz shows (nats-server's
 * ClosedState names, docs/architecture.md, "Protocol facts").
 *
 * @module
 */
export const ClosedReason = {
  ClientClosed: "Client Closed",
  AuthenticationTimeout: "Authentication Timeout",
  AuthenticationViolation: "Authentication Failure",
  TlsHandshakeError: "TLS Handshake Failure",
  SlowConsumerPendingBytes: "Slow Consumer (Pending Bytes)",
  SlowConsumerWriteDeadline: "Slow Consumer (Write Deadline)",
  WriteError: "Write Error",
  ReadError: "Read Error",
  ParseError: "Parse Error",
  StaleConnection: "Stale Connection",
  ProtocolViolation: "Protocol Violation",
  BadClientProtocolVersion: "Bad Client Protocol Version",
  WrongPort: "Incorrect Port",
  MaxConnectionsExceeded: "Maximum Connections Exceeded",
  MaxAccountConnectionsExceeded: "Maximum Account Connections Exceeded",
  MaxPayloadExceeded: "Maximum Message Payload Exceeded",
  MaxControlLineExceeded: "Maximum Control Line Exceeded",
  MaxSubscriptionsExceeded: "Maximum Subscriptions Exceeded",
  DuplicateRoute: "Duplicate Route",
  RouteRemoved: "Route Removed",
  ServerShutdown: "Server Shutdown",
  AuthenticationExpired: "Authentication Expired",
  NoRespondersRequiresHeaders: "No Responders Requires Headers",
  ClusterNameConflict: "Cluster Name Conflict",
  DuplicateServerName: "Duplicate Server Name",
  DuplicateRemoteLeafnodeConnection: "Duplicate Remote LeafNode Connection",
  ClusterNamesIdentical: "Cluster Names Identical",
} as const;
export type ClosedReason = typeof ClosedReason[keyof typeof ClosedReason];
