// The local launcher's HTTP API: the development stand-in for ECS RunTask / StopTask / DescribeTasks.
//   POST   /v1/tasks      {idempotencyKey, sessionId, room, env} -> 201 {taskId} (200 with the same taskId if known);
//                         JSON only (415), bearer token always (401); env names a worker must never hold are refused
//   GET    /v1/tasks      -> {tasks: [...]}        GET /v1/tasks/:id -> the task
//   DELETE /v1/tasks/:id  -> 202, SIGTERM now and SIGKILL after the grace period
//   GET    /health        -> {ok, running, maxTasks} (no token needed: it reveals nothing)
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Log } from './log.ts';
import { TooManyTasksError, type TaskSupervisor } from './tasks.ts';
import { isForbiddenWorkerEnv } from './worker-env.ts';

const MAX_BODY_BYTES = 64 * 1024;

const launchBodySchema = z.object({
  idempotencyKey: z.string().min(1).max(512),
  sessionId: z.string().min(1).max(256),
  room: z.string().min(1).max(256),
  env: z
    .record(
      z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'env names must be letters, digits and _')
        .refine((name) => !isForbiddenWorkerEnv(name), 'a worker must never hold this credential'),
      z.string().refine((value) => !value.includes('\0'), 'env values cannot contain NUL'),
    )
    .default({}),
});

export interface LauncherServerOptions {
  tasks: TaskSupervisor;
  maxTasks: number;
  token: string;
  log: Log;
}

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export function createLauncherServer(options: LauncherServerOptions): Server {
  const { tasks, log } = options;
  const expectedTokenDigest = sha256(options.token);

  function authorize(request: IncomingMessage): void {
    const header = request.headers.authorization ?? '';
    const presented = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
    // Compare digests: equal lengths for timingSafeEqual, and no early exit on the first differing byte.
    if (!timingSafeEqual(sha256(presented), expectedTokenDigest)) {
      throw new HttpError(401, 'missing or wrong bearer token');
    }
  }

  async function route(request: IncomingMessage): Promise<{ status: number; body: unknown }> {
    const url = new URL(request.url ?? '/', 'http://launcher');
    const method = request.method ?? 'GET';
    const parts = url.pathname.split('/').filter(Boolean);

    if (url.pathname === '/health') {
      if (method !== 'GET') throw new HttpError(405, 'use GET');
      return { status: 200, body: { ok: true, running: tasks.runningCount, maxTasks: options.maxTasks } };
    }
    if (parts[0] !== 'v1' || parts[1] !== 'tasks' || parts.length > 3) throw new HttpError(404, 'no such route');
    authorize(request);

    const taskId = parts[2] === undefined ? undefined : decodeTaskId(parts[2]);
    if (taskId === undefined) {
      if (method === 'GET') return { status: 200, body: { tasks: tasks.list() } };
      if (method === 'POST') {
        // JSON only: a form or text/plain POST is what a browser can send cross-site without a preflight.
        const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
        if (type !== 'application/json') throw new HttpError(415, 'send the task as Content-Type: application/json');
        return launch(await readJson(request));
      }
      throw new HttpError(405, 'use GET or POST');
    }
    if (method === 'GET') {
      const task = tasks.get(taskId);
      if (!task) throw new HttpError(404, `unknown task ${taskId}`);
      return { status: 200, body: task };
    }
    if (method === 'DELETE') {
      const task = tasks.stop(taskId);
      if (!task) throw new HttpError(404, `unknown task ${taskId}`);
      return { status: 202, body: { taskId, state: task.state } };
    }
    throw new HttpError(405, 'use GET or DELETE');
  }

  function launch(body: unknown): { status: number; body: unknown } {
    const parsed = launchBodySchema.safeParse(body);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`);
      throw new HttpError(400, `invalid task request: ${problems.join('; ')}`);
    }
    try {
      const { task, created } = tasks.launch(parsed.data);
      return { status: created ? 201 : 200, body: { taskId: task.taskId } };
    } catch (error) {
      if (error instanceof TooManyTasksError) throw new HttpError(429, error.message);
      throw error;
    }
  }

  return createServer((request, response) => {
    route(request).then(
      ({ status, body }) => send(response, status, body),
      (error: unknown) => {
        if (error instanceof HttpError) return send(response, error.status, { error: error.message });
        log.error('request_failed', { method: request.method, path: request.url, error: String(error) });
        send(response, 500, { error: 'internal error' });
      },
    );
  });
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'body is not valid JSON');
  }
}

function decodeTaskId(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, 'malformed task id');
  }
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
