// The STT chain with scripted vendors: the utterance is replayed into the next provider, nothing is lost.
import { describe, expect, it } from 'vitest';
import type { ProviderOutcome } from '../../functions/contract.ts';
import { BreakerRegistry } from '../../worker/fallback/breaker.ts';
import { transcribeUtterance, type TranscriptEvent } from '../../worker/fallback/stt-chain.ts';
import { ReplayableAudio } from '../../worker/fallback/replayable-audio.ts';
import type { SttProvider } from '../../worker/providers/types.ts';
import { scriptedStt } from '../support/scripted-providers.ts';

async function* frames(count: number, gapMs = 1): AsyncGenerator<Int16Array> {
  for (let i = 0; i < count; i++) {
    yield new Int16Array(320).fill(i + 1);
    await new Promise((r) => setTimeout(r, gapMs));
  }
}

async function run(providers: SttProvider[], frameCount: number, resultTimeoutMs = 200) {
  const events: TranscriptEvent[] = [];
  const outcomes: ProviderOutcome[] = [];
  let error: unknown;
  try {
    for await (const ev of transcribeUtterance(
      { links: providers.map((p) => ({ name: p.name, provider: p })), breakers: new BreakerRegistry(), resultTimeoutMs, onOutcome: (o) => outcomes.push(o) },
      frames(frameCount),
      16_000,
      new AbortController().signal,
    )) events.push(ev);
  } catch (err) {
    error = err;
  }
  return { events, error, outcomes };
}

describe('STT chain', () => {
  it('replays the whole utterance into the next provider when the first dies mid-sentence', async () => {
    const a = scriptedStt('deepgram', { transcript: 'never', failAfterFrames: 20 });
    const b = scriptedStt('whisper', { transcript: 'book a table for two' });
    const r = await run([a, b], 50);
    expect(a.framesSeen).toEqual([20]);
    expect(b.framesSeen).toEqual([50]);
    const restart = r.events.find((e) => e.type === 'restart');
    expect(restart).toMatchObject({ from: 'deepgram', to: 'whisper' });
    expect(r.events.at(-1)).toMatchObject({ type: 'final', text: 'book a table for two', provider: 'whisper' });
    // 50 frames of 20 ms: the backup was given the whole second of the utterance.
    expect(r.outcomes.map((o) => [o.provider, o.ok, o.audioMs])).toEqual([['deepgram', false, expect.any(Number)], ['whisper', true, 1000]]);
  });

  it('fails over when a provider hears the audio but never answers', async () => {
    const silent = scriptedStt('deepgram', { transcript: 'x', silent: true });
    const b = scriptedStt('whisper', { transcript: 'hello' });
    const r = await run([silent, b], 10, 100);
    expect(r.events.find((e) => e.type === 'restart')).toMatchObject({ error: expect.objectContaining({ errorClass: 'timeout' }) });
    expect(b.framesSeen).toEqual([10]);
    expect(r.events.at(-1)).toMatchObject({ type: 'final', text: 'hello' });
  });
});

describe('ReplayableAudio', () => {
  it('keeps at most maxMs, dropping the oldest, and lets late readers start from what is kept', async () => {
    const audio = new ReplayableAudio(1_000, 50); // 50 samples
    for (let i = 0; i < 10; i++) audio.push(new Int16Array(10).fill(i));
    audio.end();
    const seen: number[] = [];
    for await (const f of audio.reader()) seen.push(f[0]!);
    expect(seen).toEqual([5, 6, 7, 8, 9]);
    expect(audio.droppedMs).toBe(50);
  });
});
