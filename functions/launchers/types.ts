// One way to start and stop the media worker for a room; ECS in production, a local process in development.

export interface LaunchRequest {
  sessionId: string;
  room: string;
  /**
   * Stable per session generation (per room incarnation while Redis is down): a retried launch with the same key
   * must not start a second worker.
   */
  idempotencyKey: string;
  /** Environment for the worker: ROOM, SESSION_ID, FUNCTIONS_URL, WORKER_BOOTSTRAP_TOKEN, *_PROVIDERS. No secret of ours. */
  env: Record<string, string>;
}

export interface LaunchResult {
  /** What `stop` needs: the ECS task ARN, or the local launcher's task id. */
  taskId: string;
}

export interface LauncherCheck {
  ok: boolean;
  kind: LauncherKind;
  /** Human-readable, never a secret. */
  detail: string;
}

export type LauncherKind = 'ecs' | 'local';

export interface Launcher {
  readonly kind: LauncherKind;
  launch(request: LaunchRequest, signal?: AbortSignal): Promise<LaunchResult>;
  stop(taskId: string, reason: string, signal?: AbortSignal): Promise<void>;
  /** Configuration (and, where cheap, reachability) for GET /health. */
  check(signal?: AbortSignal): Promise<LauncherCheck>;
}

/** A launch or stop that failed; `retryable` says whether trying again later can help. */
export class LaunchError extends Error {
  readonly retryable: boolean;
  constructor(message: string, retryable: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LaunchError';
    this.retryable = retryable;
  }
}
