// Every failed call to the control plane is a ControlPlaneError that says whether trying again can help, and whether
// the session is over (the worker should then leave the room instead of retrying).

export type ControlPlaneErrorKind =
  /** No HTTP answer: connection refused or reset, DNS, TLS. */
  | 'network'
  /** No answer within the client's time bound. */
  | 'timeout'
  /** The caller's own signal ended the call. */
  | 'aborted'
  /** The functions answered with a non-2xx status. */
  | 'http'
  /** What we were about to send does not satisfy the contract: sending it could only earn a 400. */
  | 'invalid_request'
  /** A 2xx whose body does not satisfy the contract. */
  | 'invalid_response';

export interface ControlPlaneErrorDetails {
  kind: ControlPlaneErrorKind;
  operation: string;
  status?: number;
  code?: string;
  retryAfterMs?: number;
  cause?: unknown;
}

export class ControlPlaneError extends Error {
  readonly kind: ControlPlaneErrorKind;
  /** Which call failed, e.g. `POST /v1/worker/history`. */
  readonly operation: string;
  /** The HTTP status, when there was an answer. */
  readonly status: number | undefined;
  /** The functions' error code (`unavailable`, `session_not_found`…), when the body carried one. */
  readonly code: string | undefined;
  /** True when the same call may succeed later: network trouble, timeouts, 408, 429 and 5xx. */
  readonly retryable: boolean;
  /** True on 409: the control plane ended this session; the worker should leave, not retry. */
  readonly sessionEnded: boolean;
  /** From retry-after, when the functions sent it. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, details: ControlPlaneErrorDetails) {
    super(`${details.operation}: ${message}`, { cause: details.cause });
    this.name = 'ControlPlaneError';
    this.kind = details.kind;
    this.operation = details.operation;
    this.status = details.status;
    this.code = details.code;
    this.retryAfterMs = details.retryAfterMs;
    this.sessionEnded = details.kind === 'http' && details.status === 409;
    this.retryable = isRetryable(details.kind, details.status);
  }
}

// 408 and 425 are "too early / too slow, ask again"; every other 4xx means the request, token or session is wrong
// and will stay wrong.
const RETRYABLE_STATUSES = new Set([408, 425, 429]);

function isRetryable(kind: ControlPlaneErrorKind, status: number | undefined): boolean {
  switch (kind) {
    case 'network':
    case 'timeout':
      return true;
    case 'http':
      return status !== undefined && (status >= 500 || RETRYABLE_STATUSES.has(status));
    default:
      return false;
  }
}

export function isControlPlaneError(err: unknown): err is ControlPlaneError {
  return err instanceof ControlPlaneError;
}
