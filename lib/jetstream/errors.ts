/**
 * JetStream API errors: nats-server 2.9's codes (HTTP-like `code`, its own
 * `err_code`, `description`), sent as `{"error":{...}}` in API responses and
 * publish acknowledgements.
 *
 * @module
 */

/** One API error as the response JSON carries it. */
export class ApiError extends Error {
  readonly code: number;
  readonly errCode: number;
  constructor(code: number, errCode: number, description: string) {
    super(description);
    this.code = code;
    this.errCode = errCode;
  }

  toJSON(): { code: number; err_code: number; description: string } {
    return { code: this.code, err_code: this.errCode, description: this.message };
  }
}

const e = (code: number, errCode: number, text: string) => () => new ApiError(code, errCode, text);

/** The errors dnatsd sends, named after nats-server's identifiers. */
export const JSErr = {
  badRequest: e(400, 10003, "bad request"),
  invalidJson: e(400, 10025, "invalid JSON"),
  notEnabled: e(503, 10076, "JetStream not enabled"),
  noMessageFound: e(404, 10037, "no message found"),
  streamNotFound: e(404, 10059, "stream not found"),
  streamNameExist: e(400, 10058, "stream name already in use with a different configuration"),
  streamMismatch: e(400, 10056, "stream name in subject does not match request"),
  streamSubjectOverlap: e(400, 10065, "subjects overlap with an existing stream"),
  streamNotMatch: e(400, 10060, "expected stream does not match"),
  streamMessageExceedsMaximum: e(400, 10054, "message size exceeds maximum allowed"),
  streamHeaderExceedsMaximum: e(400, 10097, "header size exceeds maximum allowed of 64k"),
  streamSealed: e(400, 10109, "invalid operation on sealed stream"),
  streamReplicasNotSupported: e(500, 10074, "replicas > 1 not supported in non-clustered mode"),
  streamReplicasNotUpdatable: e(400, 10061, "Replicas configuration can not be updated"),
  streamNameContainsPathSeparators: e(400, 10128, "Stream name can not contain path separators"),
  maximumStreamsLimit: e(400, 10027, "maximum number of streams reached"),
  memoryResourcesExceeded: e(500, 10028, "insufficient memory resources available"),
  storageResourcesExceeded: e(500, 10047, "insufficient storage resources available"),
  streamWrongLastMsgId: (id: string) => new ApiError(400, 10070, `wrong last msg ID: ${id}`),
  streamWrongLastSequence: (seq: number) => new ApiError(400, 10071, `wrong last sequence: ${seq}`),
  streamInvalidConfig: (err: string) => new ApiError(500, 10052, err),
  streamUpdate: (err: string) => new ApiError(500, 10069, err),
  streamMsgDeleteFailed: (err: string) => new ApiError(500, 10057, err),
  streamStoreFailed: (err: string) => new ApiError(503, 10077, err),
  streamGeneral: (err: string) => new ApiError(500, 10051, err),
  streamCreate: (err: string) => new ApiError(500, 10049, err),
  /** Features of nats-server's JetStream that dnatsd does not have yet. */
  notSupported: (what: string) =>
    new ApiError(500, 10052, `${what} is not supported by dnatsd yet`),
};
