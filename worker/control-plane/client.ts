// The worker's HTTP client for the control plane: session settings in; history, status and metrics out. Every call is
// bounded in time, checked against the shared contract on both ends, and fails with a classified ControlPlaneError.
import type { z } from 'zod';
import {
  appendHistorySchema,
  livekitJoinSchema,
  workerBootstrapSchema,
  workerMetricsSchema,
  workerSessionSchema,
  workerStatusSchema,
  type HistoryMessage,
  type LiveKitJoin,
  type WorkerBootstrap,
  type WorkerSession,
  type WorkerStatusReport,
} from '../../functions/contract.ts';
import { retryAfterMsFrom } from '../fallback/errors.ts';
import { ControlPlaneError } from './errors.ts';

export { ControlPlaneError, isControlPlaneError, type ControlPlaneErrorKind } from './errors.ts';

/** A metrics batch as the worker builds it: defaults (empty lists, zero drops) are filled in by the contract. */
export type WorkerMetricsBatch = z.input<typeof workerMetricsSchema>;
export type WorkerStatus = WorkerStatusReport['status'];

export const DEFAULT_CONTROL_PLANE_TIMEOUT_MS = 5_000;

export interface ControlPlaneClientOptions {
  /** FUNCTIONS_URL: the functions' origin, without /v1. */
  functionsUrl: string;
  /** The session token, when it is known up front (the console's WORKER_TOKEN); a launched worker gets it from bootstrap(). */
  workerToken?: string;
  /** Bound on each call, answer body included. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export interface CallOptions {
  /** Ends the call early (e.g. shutdown); the call then fails with kind `aborted`. */
  signal?: AbortSignal;
}

export interface ControlPlaneClient {
  /**
   * Trades the launch's single-use bootstrap credential for the session token (kept for every later call), the
   * agent's LiveKit join token and the session. Refused (401) the second time.
   */
  bootstrap(bootstrapToken: string, options?: CallOptions): Promise<WorkerBootstrap>;
  /** A fresh LiveKit join token for this session's room (the one from bootstrap is short-lived). */
  getLiveKitToken(options?: CallOptions): Promise<LiveKitJoin>;
  getSession(options?: CallOptions): Promise<WorkerSession>;
  appendHistory(messages: HistoryMessage[], options?: CallOptions): Promise<void>;
  reportStatus(status: WorkerStatus, reason?: string, options?: CallOptions): Promise<void>;
  postMetrics(batch: WorkerMetricsBatch, options?: CallOptions): Promise<void>;
}

export function createControlPlaneClient(options: ControlPlaneClientOptions): ControlPlaneClient {
  // new URL fails at start on a malformed FUNCTIONS_URL, not on the first call.
  const base = new URL(options.functionsUrl).href.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? DEFAULT_CONTROL_PLANE_TIMEOUT_MS;
  const doFetch = options.fetch ?? fetch;
  let authorization = options.workerToken === undefined ? undefined : `Bearer ${options.workerToken}`;

  async function call(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    callOptions: CallOptions,
    credential: string | undefined = authorization,
  ): Promise<unknown> {
    const operation = `${method} ${path}`;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = callOptions.signal ? AbortSignal.any([callOptions.signal, deadline]) : deadline;
    const failure = (cause: unknown): ControlPlaneError => {
      if (callOptions.signal?.aborted) return new ControlPlaneError('aborted by the caller', { kind: 'aborted', operation, cause });
      if (deadline.aborted) return new ControlPlaneError(`no answer within ${timeoutMs} ms`, { kind: 'timeout', operation, cause });
      return new ControlPlaneError(`could not reach the functions (${describe(cause)})`, { kind: 'network', operation, cause });
    };

    let res: Response;
    let text: string;
    try {
      res = await doFetch(`${base}${path}`, {
        method,
        headers: {
          ...(credential === undefined ? {} : { authorization: credential }),
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal,
      });
      // Read inside the same deadline: a server that sends headers and then stalls must not hang us either.
      text = await res.text();
    } catch (err) {
      throw failure(err);
    }
    if (!res.ok) {
      const { code, message } = errorBody(text);
      throw new ControlPlaneError(`${res.status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`, {
        kind: 'http',
        operation,
        status: res.status,
        ...(code ? { code } : {}),
        ...retryAfter(res.headers),
      });
    }
    try {
      return text === '' ? undefined : (JSON.parse(text) as unknown);
    } catch (err) {
      throw new ControlPlaneError(`${res.status} with a body that is not JSON`, { kind: 'invalid_response', operation, status: res.status, cause: err });
    }
  }

  /** Checks what we send against the contract first: a body the functions would refuse is a bug here, not a 400 to retry. */
  function checked<S extends z.ZodType>(schema: S, value: unknown, operation: string): z.infer<S> {
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    throw new ControlPlaneError(`refusing to send a body that breaks the contract: ${issues(parsed.error)}`, { kind: 'invalid_request', operation });
  }

  function answer<S extends z.ZodType>(schema: S, body: unknown, what: string, operation: string): z.infer<S> {
    const parsed = schema.safeParse(body);
    if (parsed.success) return parsed.data;
    throw new ControlPlaneError(`the ${what} does not match the contract: ${issues(parsed.error)}`, { kind: 'invalid_response', operation, status: 200 });
  }

  return {
    async bootstrap(bootstrapToken, callOptions = {}) {
      const path = '/v1/worker/bootstrap';
      const body = await call('POST', path, {}, callOptions, `Bearer ${bootstrapToken}`);
      const result = answer(workerBootstrapSchema, body, 'bootstrap answer', `POST ${path}`);
      authorization = `Bearer ${result.workerToken}`;
      return result;
    },
    async getLiveKitToken(callOptions = {}) {
      const path = '/v1/worker/livekit-token';
      return answer(livekitJoinSchema, await call('GET', path, undefined, callOptions), 'LiveKit token', `GET ${path}`);
    },
    async getSession(callOptions = {}) {
      const path = '/v1/worker/session';
      return answer(workerSessionSchema, await call('GET', path, undefined, callOptions), 'session', `GET ${path}`);
    },
    async appendHistory(messages, callOptions = {}) {
      const path = '/v1/worker/history';
      await call('POST', path, checked(appendHistorySchema, { messages }, `POST ${path}`), callOptions);
    },
    async reportStatus(status, reason, callOptions = {}) {
      const path = '/v1/worker/status';
      await call('POST', path, checked(workerStatusSchema, reason === undefined ? { status } : { status, reason }, `POST ${path}`), callOptions);
    },
    async postMetrics(batch, callOptions = {}) {
      const path = '/v1/worker/metrics';
      await call('POST', path, checked(workerMetricsSchema, batch, `POST ${path}`), callOptions);
    },
  };
}

function errorBody(text: string): { code?: string; message?: string } {
  try {
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    const code = typeof parsed.error?.code === 'string' ? parsed.error.code : undefined;
    const message = typeof parsed.error?.message === 'string' ? parsed.error.message : undefined;
    return { ...(code ? { code } : {}), ...(message ? { message: message.slice(0, 300) } : {}) };
  } catch {
    return text ? { message: text.slice(0, 200) } : {};
  }
}

function retryAfter(headers: Headers): { retryAfterMs?: number } {
  const ms = retryAfterMsFrom(headers);
  return ms === undefined ? {} : { retryAfterMs: ms };
}

function issues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`)
    .join('; ');
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // undici hides the useful part (ECONNREFUSED…) in the cause.
  const cause = err.cause instanceof Error ? `: ${(err.cause as Error & { code?: string }).code ?? err.cause.message}` : '';
  return `${err.message}${cause}`;
}
