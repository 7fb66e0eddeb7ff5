// The shared kit itself: fault queue semantics, scripted text, generated audio, profiles, the control API over HTTP,
// request recording, and a close() that does not leave a stalled stream hanging.
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { bufferToPcm, chunkPcmBytes, pcmFromText, pcmToBuffer, rms, samplesFor, ttsDurationMsFor } from '../fakes/kit/audio.ts';
import { FaultQueue } from '../fakes/kit/faults.ts';
import { PROFILES, resolveProfile, ttfbFor } from '../fakes/kit/profile.ts';
import { closedPort } from '../fakes/kit/server.ts';
import { defaultReply, lastUserText, Script, splitIntoTokens } from '../fakes/kit/script.ts';
import { startFakeOpenAI } from '../fakes/openai.ts';
import type { FakeOpenAI } from '../fakes/openai.ts';

describe('FaultQueue', () => {
  it('hands out faults first in first out, one per request, honouring route and times', () => {
    const queue = new FaultQueue();
    queue.push({ kind: 'reset', route: 'speech' }, { kind: 'status', status: 500, times: 2 }, { kind: 'delayHeaders', ms: 5 });
    expect(queue.take('chat')).toEqual({ kind: 'status', status: 500 });
    expect(queue.take('speech')).toEqual({ kind: 'reset' });
    expect(queue.take('speech')).toEqual({ kind: 'status', status: 500 });
    expect(queue.pending).toEqual([{ kind: 'delayHeaders', ms: 5, times: 1 }]);
    expect(queue.take('chat')).toEqual({ kind: 'delayHeaders', ms: 5 });
    expect(queue.take('chat')).toBeUndefined();
  });
});

describe('script', () => {
  it('splits text into pieces that concatenate back exactly', () => {
    for (const text of ['Hello there, friend.', '  leading and trailing  ', 'one', '', 'a\nb\tc']) {
      expect(splitIntoTokens(text).join('')).toBe(text);
    }
    expect(splitIntoTokens('Hello there, friend.')).toEqual(['Hello', ' there,', ' friend.']);
  });

  it('serves queued replies and transcripts first, then deterministic defaults', () => {
    const script = new Script();
    script.pushReplies('first');
    script.pushTranscripts('heard');
    expect(script.nextReply('q')).toBe('first');
    expect(script.nextReply('q')).toBe(defaultReply('q'));
    expect(script.nextTranscript()).toBe('heard');
    expect(script.nextTranscript()).toBe('hello there');
    const messages = [{ role: 'user', content: 'old' }, { role: 'assistant', content: 'x' }, { role: 'user', content: [{ type: 'text', text: 'new' }] }];
    expect(lastUserText(messages)).toBe('new');
  });
});

describe('audio', () => {
  it('speaks for 55 ms per character, at least 200 ms, audibly, the same way every time', () => {
    expect(ttsDurationMsFor('Hi')).toBe(200);
    expect(ttsDurationMsFor('Hello world')).toBe(605);
    const pcm = pcmFromText('Hello world', 16_000);
    expect(pcm.length).toBe(samplesFor(605, 16_000));
    expect(rms(pcm)).toBeGreaterThan(3_000);
    expect(pcmFromText('Hello world', 16_000)).toEqual(pcm);
    const gap = pcm.subarray(samplesFor(5 * 55 + 10, 16_000), samplesFor(6 * 55 - 10, 16_000)); // the space
    expect(rms(gap)).toBe(0);
  });

  it('round-trips s16le bytes and chunks them by duration', () => {
    const pcm = pcmFromText('chunk me', 24_000);
    const bytes = pcmToBuffer(pcm);
    expect(bufferToPcm(bytes)).toEqual(pcm);
    const chunks = chunkPcmBytes(bytes, 24_000, 20);
    expect(chunks[0]?.length).toBe(960);
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
  });
});

describe('profiles', () => {
  it('resolves presets and overrides; jitter is deterministic and bounded', () => {
    expect(resolveProfile('realistic')).toEqual(PROFILES.realistic);
    expect(resolveProfile({ preset: 'slow', ttfbMs: 5 })).toMatchObject({ ttfbMs: 5, tokensPerSecond: PROFILES.slow.tokensPerSecond });
    expect(resolveProfile({ chunkMs: 40 }, PROFILES.instant)).toEqual({ ...PROFILES.instant, chunkMs: 40 });
    const ttfbs = [0, 1, 2, 3, 4].map((i) => ttfbFor(PROFILES.realistic, i));
    expect(ttfbs).toEqual([0, 1, 2, 3, 4].map((i) => ttfbFor(PROFILES.realistic, i)));
    for (const ms of ttfbs) expect(ms).toBeGreaterThanOrEqual(300), expect(ms).toBeLessThanOrEqual(800);
    expect(new Set(ttfbs).size).toBeGreaterThan(1);
  });
});

describe('server and control API', () => {
  let fake: FakeOpenAI | undefined;
  afterEach(() => fake?.close());

  const control = (path: string, body?: unknown) =>
    fetch(`${fake!.url}/__fake/${path}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });

  it('lets another process queue faults, script replies, set the profile, read requests and reset', async () => {
    fake = await startFakeOpenAI();
    const client = new OpenAI({ apiKey: 'sk-secret-key-1234', baseURL: `${fake.url}/v1`, maxRetries: 0 });
    const ask = () => client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] });

    expect((await control('faults', { faults: [{ kind: 'status', status: 429, route: 'chat' }] })).status).toBe(200);
    expect((await control('script', { replies: ['scripted over http'] })).status).toBe(200);
    expect((await control('profile', { preset: 'instant', chunkMs: 40 })).status).toBe(200);
    expect(fake.profile.chunkMs).toBe(40);
    expect(await ask().catch((e) => e)).toBeInstanceOf(OpenAI.RateLimitError);
    expect((await ask()).choices[0]?.message.content).toBe('scripted over http');

    const { requests } = (await (await control('requests')).json()) as { requests: Array<Record<string, unknown>> };
    expect(requests.map((r) => [r.route, r.fault, r.status])).toEqual([['chat', 'status', 429], ['chat', undefined, 200]]);
    expect((requests[0]?.headers as Record<string, string>).authorization).toBe('Bearer ***1234');

    expect((await control('faults', { faults: [{ kind: 'explode' }] })).status).toBe(400);
    expect((await control('reset', {})).status).toBe(200);
    expect(fake.requests).toEqual([]);
    expect(fake.profile).toEqual(PROFILES.instant);
    const state = (await (await control('')).json()) as { name: string; pendingFaults: unknown[] };
    expect(state).toMatchObject({ name: 'openai', pendingFaults: [] });
  });

  it('records unknown paths as route undefined with a 404, and requires the configured key exactly', async () => {
    fake = await startFakeOpenAI({ apiKey: 'right' });
    const response = await fetch(`${fake.url}/v1/embeddings`, { headers: { authorization: 'Bearer right' } });
    expect(response.status).toBe(404);
    expect(fake.requests[0]).toMatchObject({ route: undefined, path: '/v1/embeddings' });
    const noKey = await fetch(`${fake.url}/v1/chat/completions`, { method: 'POST', body: '{}' });
    expect(noKey.status).toBe(401);
  });

  it('close() destroys a stalled stream so nothing keeps the test alive', async () => {
    fake = await startFakeOpenAI();
    fake.faults.push({ kind: 'stallAfter', chunks: 1, ms: 60_000 });
    const client = new OpenAI({ apiKey: 'k', baseURL: `${fake.url}/v1`, maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }], stream: true });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    const pending = iterator.next().then(
      () => 'ended',
      (error: Error) => error.message,
    );
    await fake.close();
    fake = undefined;
    const bound = new Promise((resolve) => setTimeout(() => resolve('still hanging after 5 s'), 5_000).unref());
    expect(await Promise.race([pending, bound])).toBe('terminated');
  });

  it('closedPort() gives a port that refuses connections', async () => {
    const port = await closedPort();
    const error = await fetch(`http://127.0.0.1:${port}/`).catch((e: Error) => e);
    expect((error as Error & { cause?: { code?: string } }).cause?.code).toBe('ECONNREFUSED');
  });
});
