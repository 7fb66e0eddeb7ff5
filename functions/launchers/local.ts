// Launches the media worker through the local launcher process (infra/local/launcher) over HTTP: the development
// stand-in for ECS. Runs inside workerd: fetch and AbortSignal only.
import { deadline, errorMessage } from './deadline.ts';
import { LaunchError, type Launcher, type LauncherCheck, type LaunchRequest, type LaunchResult } from './types.ts';

export interface LocalLauncherOptions {
  /** Base URL of the local launcher, e.g. http://127.0.0.1:8790. */
  url: string;
  /** Bearer token, when the launcher was started with LOCAL_LAUNCHER_TOKEN. */
  token?: string;
  /** Bound on launch and stop; default 10 s. */
  requestTimeoutMs?: number;
  /** Bound on the health probe; default 2 s. */
  checkTimeoutMs?: number;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const DEFAULT_CHECK_TIMEOUT_MS = 2_000;

export function createLocalLauncher(options: LocalLauncherOptions): Launcher {
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const checkTimeoutMs = options.checkTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const base = parseBaseUrl(options.url);
  // Printable form for messages: no credentials even if someone put them in the URL.
  const where = base ? `${base.origin}${base.pathname.replace(/\/$/, '')}` : 'an invalid URL';

  function endpoint(path: string): string {
    if (!base) throw new LaunchError(`local launcher URL is not a valid http(s) URL`, false);
    return new URL(path, base).toString();
  }

  async function call(
    operation: string,
    path: string,
    init: RequestInit,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<Response> {
    const url = endpoint(path);
    const cut = deadline(timeoutMs, signal);
    const headers = new Headers(init.headers);
    if (options.token) headers.set('authorization', `Bearer ${options.token}`);
    try {
      return await fetch(url, { ...init, headers, signal: cut.signal });
    } catch (error) {
      const why = cut.abortedBecause();
      const message =
        why === 'timeout'
          ? `timed out after ${timeoutMs} ms`
          : why === 'caller'
            ? 'aborted by the caller'
            : `unreachable: ${errorMessage(error)}`;
      throw new LaunchError(`local launcher ${operation} at ${where} ${message}`, true, { cause: error });
    }
  }

  async function launch(request: LaunchRequest, signal?: AbortSignal): Promise<LaunchResult> {
    const body = JSON.stringify({
      idempotencyKey: request.idempotencyKey,
      sessionId: request.sessionId,
      room: request.room,
      env: request.env,
    });
    const response = await call(
      'launch',
      'v1/tasks',
      { method: 'POST', body, headers: { 'content-type': 'application/json' } },
      requestTimeoutMs,
      signal,
    );
    if (!response.ok) throw await refusal('launch', response);
    const payload = (await response.json().catch(() => null)) as { taskId?: unknown } | null;
    if (typeof payload?.taskId !== 'string' || payload.taskId === '') {
      throw new LaunchError(`local launcher launch answered ${response.status} without a taskId`, true);
    }
    return { taskId: payload.taskId };
  }

  async function stop(taskId: string, _reason: string, signal?: AbortSignal): Promise<void> {
    const response = await call(
      'stop',
      `v1/tasks/${encodeURIComponent(taskId)}`,
      { method: 'DELETE' },
      requestTimeoutMs,
      signal,
    );
    // 404: the launcher no longer knows the task (restarted, or pruned after exit): it is not running.
    if (response.ok || response.status === 404) {
      await response.body?.cancel();
      return;
    }
    throw await refusal('stop', response);
  }

  async function check(signal?: AbortSignal): Promise<LauncherCheck> {
    if (!base) return { ok: false, kind: 'local', detail: `local launcher URL is not a valid http(s) URL` };
    try {
      const response = await call('health check', 'health', { method: 'GET' }, checkTimeoutMs, signal);
      const payload = (await response.json().catch(() => null)) as { running?: unknown; maxTasks?: unknown } | null;
      if (!response.ok) {
        return { ok: false, kind: 'local', detail: `local launcher at ${where} answered HTTP ${response.status}` };
      }
      const load =
        typeof payload?.running === 'number' && typeof payload.maxTasks === 'number'
          ? `, ${payload.running}/${payload.maxTasks} tasks running`
          : '';
      return { ok: true, kind: 'local', detail: `local launcher at ${where} is up${load}` };
    } catch (error) {
      return { ok: false, kind: 'local', detail: errorMessage(error) };
    }
  }

  return { kind: 'local', launch, stop, check };
}

/**
 * 5xx and 429 (the launcher is at its task limit) can clear up by themselves; any other 4xx is our request being
 * wrong, and sending it again will not help.
 */
async function refusal(operation: string, response: Response): Promise<LaunchError> {
  const text = await response.text().catch(() => '');
  let message = text.slice(0, 500);
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === 'string') message = parsed.error;
  } catch {
    // not JSON: keep the raw (truncated) text
  }
  const retryable = response.status >= 500 || response.status === 429;
  return new LaunchError(
    `local launcher refused ${operation} (HTTP ${response.status})${message ? `: ${message}` : ''}`,
    retryable,
  );
}

function parseBaseUrl(url: string): URL | undefined {
  try {
    const parsed = new URL(url.endsWith('/') ? url : `${url}/`);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed : undefined;
  } catch {
    return undefined;
  }
}
