// The reporter against the real functions in workerd (real HTTP, real Redis behind the Upstash stand-in), with the
// token a launched worker actually received. Requests pass through a recording fetch (the real one underneath) so
// the tests can see what was sent; a pino logger proves the logging interface fits.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkerMetrics } from '../../functions/contract.ts';
import { createControlPlaneClient } from '../../worker/control-plane/client.ts';
import { createReporter, type Reporter, type ReporterOptions } from '../../worker/report.ts';
import { postWebhook, sessionFields, startControlPlane, startHoldingProxy, type ControlPlane, bootstrapWorker, operatorAuth } from '../support/control-plane.ts';
import { signWebhook, webhookBody } from '../support/livekit.ts';
import { waitFor } from '../support/wait.ts';
import { closedPort } from '../fakes/kit/server.ts';

let cp: ControlPlane;
const reporters: Reporter[] = [];

beforeAll(async () => {
  cp = await startControlPlane({ HISTORY_MAX_MESSAGES: '100' });
});
afterAll(async () => {
  await Promise.all(reporters.map((r) => r.close({ timeoutMs: 1_000 })));
  await cp?.close();
});

interface Sent {
  path: string;
  body: unknown;
  /** 0 until (or unless) an answer came. */
  status: number;
}

/** The real fetch, noting each request as it is made and its status once answered. */
function recordingFetch(sent: Sent[]): typeof fetch {
  return async (input, init) => {
    const entry: Sent = { path: new URL(String(input)).pathname, body: init?.body ? JSON.parse(String(init.body)) : undefined, status: 0 };
    sent.push(entry);
    const res = await fetch(input, init);
    entry.status = res.status;
    return res;
  };
}

function capturingLogger(): { logger: pino.Logger; events: () => string[] } {
  const lines: { msg?: string }[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg?: string }) });
  return { logger, events: () => lines.map((l) => l.msg ?? '') };
}

async function launch(room: string): Promise<{ sessionId: string; token: string }> {
  const body = webhookBody({ event: 'participant_joined', room: { name: room }, participant: { identity: `caller-${room}` } });
  const res = await postWebhook(cp.fn, body, await signWebhook(body));
  expect(res.status).toBe(200);
  const { sessionId } = (await res.json()) as { sessionId: string };
  const recorded = await waitFor(`the worker for ${room}`, () => cp.workerEnvs().find((w) => w.env.SESSION_ID === sessionId));
  return { sessionId, token: (await bootstrapWorker(cp.fn, recorded.env)).workerToken };
}

function reporterFor(
  target: { url: string; token: string },
  sent: Sent[],
  options: Omit<ReporterOptions, 'client'> = {},
  clientTimeoutMs = 5_000,
): Reporter {
  const client = createControlPlaneClient({ functionsUrl: target.url, workerToken: target.token, timeoutMs: clientTimeoutMs, fetch: recordingFetch(sent) });
  const reporter = createReporter({ client, flushIntervalMs: 60_000, ...options });
  reporters.push(reporter);
  return reporter;
}

const metricsBodies = (sent: Sent[]) => sent.filter((s) => s.path === '/v1/worker/metrics').map((s) => s.body as WorkerMetrics);

async function providerCounts(id: string): Promise<{ successes: number; failures: number }> {
  const res = await cp.fn.fetch('/v1/providers', { headers: operatorAuth });
  const { providers } = (await res.json()) as { providers: { id: string; successes: number; failures: number }[] };
  return providers.find((p) => p.id === id) ?? { successes: 0, failures: 0 };
}

async function droppedCounter(): Promise<number> {
  const text = await (await cp.fn.fetch('/metrics')).text();
  return Number(/^voice_worker_dropped_records_total (\d+)$/m.exec(text)?.[1] ?? 0);
}

async function redisAnswers(): Promise<boolean> {
  try {
    return (await cp.redis.ping()) === 'PONG';
  } catch {
    return false;
  }
}

const history = async (token: string) =>
  (await createControlPlaneClient({ functionsUrl: cp.fn.url, workerToken: token }).getSession()).history.map((m) => m.text);

describe('feeding the reporter', () => {
  it('takes records synchronously, never throws, and sends nothing on the caller’s stack', async () => {
    const { token } = await launch('report-sync-room');
    const sent: Sent[] = [];
    const { logger, events } = capturingLogger();
    const reporter = reporterFor({ url: cp.fn.url, token }, sent, { logger, metricsBatchSize: 2 });

    const garbage: unknown[] = [null, 'x', {}, { modality: 'llm', provider: 'openai', ok: false, durationMs: 5 }, { modality: 'tts', provider: 'deepgram', ok: true, durationMs: 5 }];
    for (const bad of garbage) expect(() => reporter.record(bad as never)).not.toThrow();
    expect(() => reporter.recordTurn({ turn: -1 })).not.toThrow();
    expect(() => reporter.appendHistory([{ role: 'system' as never, text: 'x' }])).not.toThrow();
    expect(() => reporter.appendHistory(null as never)).not.toThrow();

    const returned = reporter.record({ modality: 'llm', provider: 'groq', ok: true, ttfbMs: 90, durationMs: 400, tokens: 12 });
    reporter.record({ modality: 'llm', provider: 'groq', ok: false, errorClass: 'transient', durationMs: 50 });
    expect(returned).toBeUndefined();
    // A full batch asks for delivery, but nothing reaches the network before the caller's turn is over.
    expect(sent).toHaveLength(0);
    const summary = reporter.summary();
    expect(summary.totals).toMatchObject({ outcomes: 2, invalidRecords: garbage.length + 3 });
    expect(summary.byProvider['llm:groq']).toEqual({ attempts: 2, failures: 1 });
    expect(events().filter((e) => e === 'reporter_invalid_record').length).toBeGreaterThanOrEqual(garbage.length);

    // The flush timer is a minute away: only the full batch can have sent this.
    const [batch] = await waitFor('the full batch to be delivered', () => {
      const bodies = metricsBodies(sent.filter((s) => s.status === 200));
      return bodies.length > 0 ? bodies : undefined;
    });
    expect(batch?.outcomes.map((o) => o.ok)).toEqual([true, false]);
  });
});

describe('delivery to the real functions', () => {
  it('posts outcomes and turns on its timer, with process figures, into the health scores', async () => {
    const { token } = await launch('report-metrics-room');
    const before = await providerCounts('stt:deepgram');
    const sent: Sent[] = [];
    const reporter = reporterFor({ url: cp.fn.url, token }, sent, { flushIntervalMs: 50 });
    reporter.record({ modality: 'stt', provider: 'deepgram', ok: true, ttfbMs: 80, durationMs: 900, audioMs: 2_000 });
    reporter.record({ modality: 'stt', provider: 'deepgram', ok: true, ttfbMs: 70, durationMs: 800 });
    reporter.record({ modality: 'stt', provider: 'deepgram', ok: false, errorClass: 'timeout', durationMs: 3_000 });
    reporter.recordTurn({ turn: 1, endToEndMs: 850, llmTtftMs: 300 });
    reporter.recordTurn({ turn: 2, endToEndMs: 950, interrupted: true });

    await waitFor('the outcomes in the health scores', async () => {
      const after = await providerCounts('stt:deepgram');
      return after.successes - before.successes === 2 && after.failures - before.failures === 1;
    });
    const bodies = metricsBodies(sent);
    expect(bodies.flatMap((b) => b.turns.map((t) => t.turn))).toEqual([1, 2]);
    expect(bodies[0]?.droppedRecords).toBe(0);
    expect(bodies[0]?.process?.rssBytes).toBeGreaterThan(0);
    expect(bodies[0]?.process?.cpuMs).toBeGreaterThan(0);
    expect(reporter.summary().delivery).toMatchObject({ deliveredRecords: 5, pendingRecords: 0, droppedRecords: 0 });
  });

  it('appends history in order, in as many posts as it takes', async () => {
    const { token } = await launch('report-history-room');
    const sent: Sent[] = [];
    const reporter = reporterFor({ url: cp.fn.url, token }, sent);
    const texts = Array.from({ length: 70 }, (_, i) => `message ${i + 1}`);
    for (let i = 0; i < texts.length; i += 7) {
      reporter.appendHistory(texts.slice(i, i + 7).map((text, j) => ({ role: (i + j) % 2 === 0 ? 'user' : 'assistant', text })));
    }
    expect(await reporter.flush()).toMatchObject({ delivered: true, pendingHistory: 0 });
    expect(await history(token)).toEqual(texts);
    expect(sent.filter((s) => s.path === '/v1/worker/history').length).toBeGreaterThanOrEqual(2);
  });

  it('keeps posting while idle, which the functions take as the worker’s heartbeat', async () => {
    const { sessionId, token } = await launch('report-heartbeat-room');
    const startedMs = Date.now();
    const sent: Sent[] = [];
    reporterFor({ url: cp.fn.url, token }, sent, { flushIntervalMs: 50, heartbeatIntervalMs: 100 });
    await waitFor('the heartbeat to be seen', async () => Number((await sessionFields(cp.redis, sessionId))?.lastSeenAtMs ?? 0) >= startedMs);
    expect(metricsBodies(sent)[0]).toMatchObject({ outcomes: [], turns: [], droppedRecords: 0 });
  });

  it('drops the oldest records when its buffer is full, and tells the functions how many', async () => {
    const { token } = await launch('report-full-room');
    const droppedBefore = await droppedCounter();
    const before = await providerCounts('stt:openai');
    const sent: Sent[] = [];
    const reporter = reporterFor({ url: cp.fn.url, token }, sent, { maxBufferedRecords: 5 });
    for (let i = 1; i <= 12; i++) reporter.record({ modality: 'stt', provider: 'openai', ok: true, durationMs: i });
    expect(reporter.summary().delivery).toMatchObject({ droppedRecords: 7, pendingRecords: 5 });

    expect(await reporter.flush()).toMatchObject({ delivered: true });
    const [body] = metricsBodies(sent);
    expect(body?.outcomes.map((o) => o.durationMs)).toEqual([8, 9, 10, 11, 12]);
    expect(body?.droppedRecords).toBe(7);
    expect((await providerCounts('stt:openai')).successes - before.successes).toBe(5);
    await waitFor('the dropped count in /metrics', async () => (await droppedCounter()) - droppedBefore === 7);
    // The local account keeps everything, dropped or not.
    expect(reporter.summary().outcomes.map((o) => o.durationMs)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });
});

describe('when the functions are down for a while', () => {
  it('keeps records and history through a Redis outage (retryable 503s) and delivers them, in order, once it is back', async () => {
    const { sessionId, token } = await launch('report-outage-room');
    // redis-server comes back empty: keep the session to put it back, as a persistent Redis would have kept it.
    const saved = await sessionFields(cp.redis, sessionId);
    const sent: Sent[] = [];
    const { logger, events } = capturingLogger();
    const reporter = reporterFor({ url: cp.fn.url, token }, sent, { logger, retry: { maxAttempts: 2, initialBackoffMs: 10, maxBackoffMs: 20 } });

    await cp.stack.stopRedis();
    try {
      for (let i = 0; i < 4; i++) reporter.record({ modality: 'tts', provider: 'openai', ok: true, ttfbMs: 100 + i, durationMs: 500 });
      reporter.appendHistory([{ role: 'user', text: 'one' }]);
      reporter.appendHistory([{ role: 'assistant', text: 'two' }, { role: 'user', text: 'three' }]);
      const during = await reporter.flush({ timeoutMs: 5_000 });
      expect(during).toMatchObject({ delivered: false, reason: 'unreachable', pendingRecords: 4, pendingHistory: 3 });
      expect(sent.length).toBeGreaterThan(0);
      expect(sent.every((s) => s.status === 503)).toBe(true);
      expect(events()).toContain('reporter_delivery_failed');
    } finally {
      await cp.stack.startRedis();
    }
    await waitFor('Redis to answer through the stand-in', redisAnswers);
    await cp.redis.hset(`session:${sessionId}`, saved ?? {});

    reporter.appendHistory([{ role: 'assistant', text: 'four' }]);
    reporter.record({ modality: 'tts', provider: 'openai', ok: true, durationMs: 500 });
    expect(await reporter.flush({ timeoutMs: 5_000 })).toMatchObject({ delivered: true, pendingRecords: 0, pendingHistory: 0 });
    expect(await history(token)).toEqual(['one', 'two', 'three', 'four']);
    // Redis came back empty, so the scores hold exactly what the reporter delivered after the outage.
    expect(await providerCounts('tts:openai')).toMatchObject({ successes: 5, failures: 0 });
    expect(reporter.summary().delivery).toMatchObject({ droppedRecords: 0, deliveredRecords: 5, deliveredHistory: 4 });
  });

  it('bounds the history it holds while the functions are unreachable, then delivers the newest in order and reports the drop', async () => {
    const { token } = await launch('report-proxy-room');
    // Until the proxy has a target, every request gets a 502: the functions are unreachable.
    const proxy = await startHoldingProxy();
    try {
      const droppedBefore = await droppedCounter();
      const sent: Sent[] = [];
      const reporter = reporterFor({ url: proxy.url, token }, sent, { maxBufferedHistory: 3, retry: { maxAttempts: 1, initialBackoffMs: 10, maxBackoffMs: 10 } });
      for (const text of ['a', 'b', 'c', 'd', 'e']) reporter.appendHistory([{ role: 'user', text }]);
      expect(await reporter.flush()).toMatchObject({ delivered: false, reason: 'unreachable', pendingHistory: 3 });
      expect(reporter.summary().delivery).toMatchObject({ droppedHistory: 2, droppedRecords: 2 });

      proxy.target = cp.fn.url;
      expect(await reporter.flush()).toMatchObject({ delivered: true });
      expect(await history(token)).toEqual(['c', 'd', 'e']);
      expect(metricsBodies(sent).at(-1)?.droppedRecords).toBe(2);
      await waitFor('the dropped count in /metrics', async () => (await droppedCounter()) - droppedBefore === 2);
    } finally {
      await proxy.close();
    }
  });
});

describe('shutting down', () => {
  let blackhole: Server;
  let blackholeUrl: string;
  const held: IncomingMessage[] = [];

  beforeAll(async () => {
    // Accepts every request and never answers.
    blackhole = createServer((req) => void held.push(req));
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
    blackholeUrl = `http://127.0.0.1:${(blackhole.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    blackhole.closeAllConnections();
    await new Promise<void>((resolve) => blackhole.close(() => resolve()));
  });

  /** Fails the test instead of hanging it, should `work` never settle. */
  const settlesWithin = <T>(work: Promise<T>, boundMs = 15_000) =>
    Promise.race([work, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`did not settle within ${boundMs} ms`)), boundMs).unref())]);

  it('close() gives up within its bound on functions that never answer, aborting the request in flight', async () => {
    const sent: Sent[] = [];
    // The client alone would wait a minute per attempt; the close bound is what ends it.
    const reporter = reporterFor({ url: blackholeUrl, token: 'any' }, sent, {}, 60_000);
    reporter.record({ modality: 'llm', provider: 'anthropic', ok: true, durationMs: 700 });
    reporter.appendHistory([{ role: 'user', text: 'are you there?' }]);
    const result = await settlesWithin(reporter.close({ timeoutMs: 300 }));
    expect(result).toMatchObject({ delivered: false, reason: 'timeout', pendingRecords: 1, pendingHistory: 1 });
    expect(held.length).toBeGreaterThan(0);
    await waitFor('the held requests to be aborted', () => held.every((req) => req.destroyed));

    // After close, records are still taken (for the local report) without a sound.
    expect(() => reporter.record({ modality: 'llm', provider: 'anthropic', ok: true, durationMs: 1 })).not.toThrow();
    expect(reporter.summary().totals.outcomes).toBe(2);
  });

  it('flush() and close() return when nothing listens at all', async () => {
    const sent: Sent[] = [];
    const reporter = reporterFor({ url: `http://127.0.0.1:${await closedPort()}`, token: 'any' }, sent);
    reporter.record({ modality: 'tts', provider: 'elevenlabs', ok: true, durationMs: 300 });
    const flushed = await settlesWithin(reporter.flush({ timeoutMs: 2_000 }));
    expect(flushed.delivered).toBe(false);
    expect(flushed.pendingRecords).toBe(1);
    expect(sent.every((s) => s.status === 0)).toBe(true);
    expect((await settlesWithin(reporter.close({ timeoutMs: 500 }))).delivered).toBe(false);
  });

  it('stops and says so when the functions answer 409 (session ended)', async () => {
    const ended = createServer((_req, res) => {
      res.writeHead(409, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'session_ended', message: 'this session has ended' } }));
    });
    await new Promise<void>((resolve) => ended.listen(0, '127.0.0.1', resolve));
    try {
      let calls = 0;
      const sent: Sent[] = [];
      const reporter = reporterFor({ url: `http://127.0.0.1:${(ended.address() as AddressInfo).port}`, token: 'any' }, sent, {
        onSessionEnded: () => void (calls += 1),
      });
      reporter.appendHistory([{ role: 'user', text: 'bye' }]);
      await waitFor('the session-ended notice', () => reporter.sessionEnded);
      reporter.appendHistory([{ role: 'user', text: 'still here?' }]);
      expect(await reporter.flush()).toMatchObject({ delivered: false, reason: 'session_ended' });
      expect(calls).toBe(1);
      expect(sent).toHaveLength(1);
    } finally {
      ended.closeAllConnections();
      await new Promise<void>((resolve) => ended.close(() => resolve()));
    }
  });
});
