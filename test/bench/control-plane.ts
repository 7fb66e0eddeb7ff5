// Bench section 4: the control plane inside workerd (the bundle wrangler builds, through Miniflare) with Redis behind
// the Upstash REST stand-in. Throughput and latency of webhooks (each opening a session and launching a worker) and of
// token issuance, and the Redis round trips each one costs, counted on the wire between the functions and the stand-in.
// The caller builds the bundle first (test/global-setup.ts).
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closedPort } from '../fakes/kit/server.ts';
import { startFunctions, testBindings } from '../support/functions.ts';
import { signWebhook, startFakeRoomService, webhookBody } from '../support/livekit.ts';
import { startUpstashStack } from '../support/redis.ts';
import { percentile } from './stats.ts';

export interface ThroughputFigures {
  requests: number;
  concurrency: number;
  perSecond: number;
  p50Ms: number;
  p95Ms: number;
  failures: number;
}

export interface RoundTrips {
  /** HTTP requests from the functions to the stand-in (one per @upstash/redis call or pipeline). */
  httpPerRequest: { min: number; median: number; max: number };
  /** Redis commands inside them. */
  commandsPerRequest: { min: number; median: number; max: number };
}

export interface ControlPlaneFigures {
  webhooks: ThroughputFigures & { launches: number };
  tokens: ThroughputFigures;
  webhookRoundTrips: RoundTrips;
  tokenRoundTrips: RoundTrips;
}

/** Counts what passes between the functions and the stand-in: HTTP requests and the commands in their bodies. */
async function startCountingProxy(target: string): Promise<{ url: string; http: number; commands: number; close(): Promise<void> }> {
  const upstream = new URL(target);
  const counts = { http: 0, commands: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      counts.http++;
      try {
        const parsed = JSON.parse(body.toString()) as unknown[];
        // POST / carries one command; /pipeline and /multi-exec an array of them.
        counts.commands += Array.isArray(parsed[0]) ? parsed.length : 1;
      } catch {
        counts.commands++;
      }
      const out = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      out.on('error', () => res.destroy());
      out.end(body);
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get http() {
      return counts.http;
    },
    get commands() {
      return counts.commands;
    },
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

/** A launcher that accepts every launch at once, so the bench measures the functions, not process starts. */
async function startAcceptingLauncher(): Promise<{ url: string; launches: number; close(): Promise<void> }> {
  let launches = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/tasks') launches++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ taskId: `task-${launches}`, tasks: [], running: 0 }));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get launches() {
      return launches;
    },
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

async function drive(total: number, concurrency: number, one: (i: number) => Promise<boolean>): Promise<ThroughputFigures> {
  const latencies: number[] = [];
  let failures = 0;
  let next = 0;
  const startedAt = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        const t0 = performance.now();
        const ok = await one(i).catch(() => false);
        latencies.push(performance.now() - t0);
        if (!ok) failures++;
      }
    }),
  );
  const seconds = (performance.now() - startedAt) / 1000;
  return {
    requests: total,
    concurrency,
    perSecond: total / seconds,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    failures,
  };
}

const spread = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return { min: sorted[0] ?? 0, median: sorted[Math.floor(sorted.length / 2)] ?? 0, max: sorted[sorted.length - 1] ?? 0 };
};

/** Waits until the counter has not moved for `quietMs` (the launch after a webhook's response runs in waitUntil). */
async function settled(read: () => number, quietMs = 300, boundMs = 10_000): Promise<void> {
  const deadline = Date.now() + boundMs;
  let last = read();
  let quietSince = Date.now();
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 25));
    const now = read();
    if (now !== last) {
      last = now;
      quietSince = Date.now();
    } else if (Date.now() - quietSince >= quietMs) return;
  }
}

export async function runControlPlaneBench(options: { requests: number; concurrency: number; samples: number }, progress: (s: string) => void): Promise<ControlPlaneFigures> {
  const stack = await startUpstashStack();
  const proxy = await startCountingProxy(stack.restUrl);
  const launcher = await startAcceptingLauncher();
  const livekit = await startFakeRoomService();
  const fn = await startFunctions(
    testBindings({
      UPSTASH_REDIS_REST_URL: proxy.url,
      UPSTASH_REDIS_REST_TOKEN: stack.token,
      LIVEKIT_URL: livekit.url.replace('http', 'ws'),
      LOCAL_LAUNCHER_URL: launcher.url,
      FUNCTIONS_PUBLIC_URL: `http://127.0.0.1:${await closedPort()}`,
      RATE_LIMIT_PER_KEY_PER_MINUTE: '100000',
      RATE_LIMIT_PER_IP_PER_MINUTE: '100000',
      // Every webhook opens a session that stays open: the cap would soon refuse them (and then tokens too).
      MAX_CONCURRENT_SESSIONS: '100000',
    }),
    0,
    { quiet: true },
  );
  const run = `${Date.now().toString(36)}`;
  const webhook = async (i: number) => {
    const body = webhookBody({ event: 'participant_joined', room: { name: `bench-${run}-${i}` }, participant: { identity: `caller-${i}` } });
    const res = await fetch(`${fn.url}/v1/webhooks/livekit`, {
      method: 'POST',
      headers: { 'content-type': 'application/webhook+json', authorization: await signWebhook(body) },
      body,
    });
    await res.text();
    return res.status === 200;
  };
  const token = async (i: number) => {
    const res = await fetch(`${fn.url}/v1/token`, {
      method: 'POST',
      headers: { authorization: 'Bearer test-app-key-1', 'content-type': 'application/json' },
      body: JSON.stringify({ room: `bench-token-${i % 50}`, identity: `caller-${i}` }),
    });
    await res.text();
    return res.status === 200;
  };
  const countEach = async (what: string, one: (i: number) => Promise<boolean>, offset: number): Promise<RoundTrips> => {
    const http: number[] = [];
    const commands: number[] = [];
    for (let i = 0; i < options.samples; i++) {
      const before = { http: proxy.http, commands: proxy.commands };
      if (!(await one(offset + i))) throw new Error(`${what} ${i} failed`);
      await settled(() => proxy.http);
      http.push(proxy.http - before.http);
      commands.push(proxy.commands - before.commands);
    }
    return { httpPerRequest: spread(http), commandsPerRequest: spread(commands) };
  };

  try {
    // Warm the isolate and the connections first: the figures are about steady state.
    await webhook(-1);
    await token(-1);
    await settled(() => proxy.http);
    progress(`control plane: counting Redis round trips, ${options.samples} webhooks and ${options.samples} tokens one at a time`);
    const webhookRoundTrips = await countEach('webhook', webhook, 1_000_000);
    const tokenRoundTrips = await countEach('token', token, 1_000_000);
    progress(`control plane: ${options.requests} webhooks, ${options.concurrency} at a time`);
    const launchesBefore = launcher.launches;
    const webhooks = await drive(options.requests, options.concurrency, webhook);
    await settled(() => launcher.launches, 500, 30_000);
    progress(`control plane: ${options.requests} tokens, ${options.concurrency} at a time`);
    const tokens = await drive(options.requests, options.concurrency, token);
    return { webhooks: { ...webhooks, launches: launcher.launches - launchesBefore }, tokens, webhookRoundTrips, tokenRoundTrips };
  } finally {
    await fn.dispose().catch(() => undefined);
    await Promise.all([proxy.close(), launcher.close(), livekit.close()]);
    await stack.stop();
  }
}
