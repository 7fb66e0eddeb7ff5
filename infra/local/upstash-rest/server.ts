// An Upstash-REST-compatible HTTP server over a real redis-server, for local development and CI: speaks what
// @upstash/redis sends (POST /, /pipeline, /multi-exec, base64 replies, upstash-sync-token) and nothing more.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bearerTokenCheck } from './auth.ts';
import { parseCommand, parseCommandList, parseJsonBody, RequestError } from './commands.ts';
import { encodeResult, replyEncodingOf } from './encoding.ts';
import type { ReplyEncoding } from './encoding.ts';
import { readBody, sendJson } from './http-io.ts';
import { CommandError, createRedisGateway, RedisUnavailableError } from './redis-gateway.ts';
import type { CommandOutcome, RedisGateway } from './redis-gateway.ts';

export type StandInLogger = (event: { level: 'info' | 'warn' | 'error'; event: string; [field: string]: unknown }) => void;

export type UpstashRestServerOptions = {
  redisUrl: string;
  token: string;
  logger?: StandInLogger;
  maxBodyBytes?: number;
  commandTimeoutMs?: number;
};

export type UpstashRestServer = {
  server: Server;
  listen(port: number, host?: string): Promise<{ url: string }>;
  close(): Promise<void>;
};

type CommandMode = 'single' | 'pipeline' | 'transaction';
const COMMAND_PATHS = new Map<string, CommandMode>([
  ['/', 'single'],
  ['/pipeline', 'pipeline'],
  ['/multi-exec', 'transaction'],
]);
// Paths the real service streams over SSE; refused with a reason rather than a bare 404.
const STREAMING_PATH = /^\/(subscribe|psubscribe|monitor)(\/|$)/;
const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

export function createUpstashRestServer(options: UpstashRestServerOptions): UpstashRestServer {
  const log: StandInLogger = options.logger ?? (() => {});
  const isAuthorized = bearerTokenCheck(options.token);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const gateway = createRedisGateway({
    redisUrl: options.redisUrl,
    ...(options.commandTimeoutMs === undefined ? {} : { commandTimeoutMs: options.commandTimeoutMs }),
    onEvent: (event) => log({ level: event.event === 'redis_connected' ? 'info' : 'warn', ...event }),
  });
  // Clients hand this back on their next request; a counter is all read-your-writes needs on a single Redis.
  let syncToken = 0;

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://stand-in').pathname;
    if (path === '/health') return answerHealth(request, response, gateway);
    const mode = COMMAND_PATHS.get(path);
    const streaming = STREAMING_PATH.test(path);
    if (!mode && !streaming) {
      return sendJson(response, 404, { error: `ERR unknown path ${path}: use POST /, /pipeline or /multi-exec` });
    }
    if (request.method !== 'POST') {
      return sendJson(response, 405, { error: `ERR method ${request.method} not allowed on ${path}: use POST` }, { allow: 'POST' });
    }
    if (!isAuthorized(request.headers.authorization)) return sendJson(response, 401, { error: 'Unauthorized' });
    if (!mode) {
      return sendJson(response, 400, { error: `ERR ${path.split('/')[1]?.toUpperCase()} streams are not supported by the stand-in` });
    }

    const body = parseJsonBody(await readBody(request, maxBodyBytes));
    const encoding = replyEncodingOf(request.headers['upstash-encoding']);
    const headers = { 'upstash-sync-token': String(++syncToken) };
    if (mode === 'single') {
      const result = await gateway.run(parseCommand(body));
      return sendJson(response, 200, { result: encodeResult(result, encoding) }, headers);
    }
    const commands = parseCommandList(body);
    const outcomes = mode === 'pipeline' ? await gateway.pipeline(commands) : await gateway.transaction(commands);
    return sendJson(response, 200, encodeOutcomes(outcomes, encoding), headers);
  }

  function answerFailure(error: unknown, response: ServerResponse): void {
    if (response.headersSent) {
      response.destroy();
      return;
    }
    if (error instanceof RequestError) return sendJson(response, error.status, { error: error.message });
    if (error instanceof CommandError) return sendJson(response, 400, { error: error.message });
    if (error instanceof RedisUnavailableError) {
      log({ level: 'warn', event: 'redis_unavailable', reason: error.message });
      return sendJson(response, 503, { error: error.message });
    }
    log({ level: 'error', event: 'request_failed', reason: error instanceof Error ? error.message : String(error) });
    return sendJson(response, 500, { error: 'ERR internal error in the Upstash REST stand-in' });
  }

  // A body that never finishes must not hold a request open forever.
  const server = createServer({ requestTimeout: 30_000 }, (request, response) => {
    handle(request, response).catch((error: unknown) => answerFailure(error, response));
  });

  let closing: Promise<void> | undefined;
  return {
    server,
    listen(port, host = '127.0.0.1') {
      gateway.connect();
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const { port: boundPort } = server.address() as AddressInfo;
          const urlHost = host.includes(':') ? `[${host}]` : host;
          resolve({ url: `http://${urlHost}:${boundPort}` });
        });
      });
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        gateway.close();
        if (!server.listening) return resolve();
        server.close(() => resolve());
        // Keep-alive sockets from fetch would otherwise hold close() open until they time out.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function encodeOutcomes(outcomes: CommandOutcome[], encoding: ReplyEncoding) {
  return outcomes.map((outcome) =>
    'error' in outcome ? { error: outcome.error } : { result: encodeResult(outcome.result, encoding) },
  );
}

async function answerHealth(request: IncomingMessage, response: ServerResponse, gateway: RedisGateway): Promise<void> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return sendJson(response, 405, { error: `ERR method ${request.method} not allowed on /health: use GET` }, { allow: 'GET, HEAD' });
  }
  const redisAnswers = await gateway.ping();
  if (redisAnswers) return sendJson(response, 200, { status: 'ok' });
  return sendJson(response, 503, { status: 'unavailable', error: 'redis did not answer PING' });
}
