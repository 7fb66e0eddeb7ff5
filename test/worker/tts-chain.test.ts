// The TTS chain with scripted vendors: per sentence, no repeated words after a mid-sentence failover, sticky voice.
import { describe, expect, it } from 'vitest';
import type { ProviderOutcome } from '../../functions/contract.ts';
import { BreakerRegistry } from '../../worker/fallback/breaker.ts';
import { TtsChain, unspokenFrom, type SpeechEvent } from '../../worker/fallback/tts-chain.ts';
import type { TtsProvider } from '../../worker/providers/types.ts';
import { scriptedTts } from '../support/scripted-providers.ts';

const policy = { firstChunkTimeoutMs: 200, stallTimeoutMs: 150 };

const outcomes: ProviderOutcome[] = [];

function chain(providers: TtsProvider[], sticky = true) {
  return new TtsChain({ links: providers.map((p) => ({ name: p.name, provider: p })), breakers: new BreakerRegistry(), policy, sticky, onOutcome: (o) => outcomes.push(o) });
}

async function speak(c: TtsChain, text: string) {
  const events: SpeechEvent[] = [];
  for await (const ev of c.speak(text, new AbortController().signal)) events.push(ev);
  const audio = events.filter((e) => e.type === 'audio') as Extract<SpeechEvent, { type: 'audio' }>[];
  return { events, audio, samples: audio.reduce((n, a) => n + a.pcm.length, 0), providers: [...new Set(audio.map((a) => a.provider))] };
}

describe('unspokenFrom', () => {
  it('starts the rest at the next word boundary after the estimate', () => {
    const text = 'The quick brown fox jumps.';
    expect(unspokenFrom(text, 0)).toBe(0);
    expect(text.slice(unspokenFrom(text, 6))).toBe('brown fox jumps.');
    expect(text.slice(unspokenFrom(text, 10))).toBe('fox jumps.');
    expect(unspokenFrom(text, 100)).toBe(text.length);
  });
});

describe('TTS chain', () => {
  it('speaks a sentence on the first provider', async () => {
    const a = scriptedTts('a', { msPerChar: 50 });
    const r = await speak(chain([a, scriptedTts('b')]), 'Hello there.');
    expect(r.providers).toEqual(['a']);
    expect(r.samples).toBe(Math.round((12 * 50 * 16_000) / 1000));
    expect(r.audio.every((x) => x.sampleRate === 16_000)).toBe(true);
    expect(outcomes.at(-1)).toMatchObject({ modality: 'tts', provider: 'a', ok: true, characters: 12, audioMs: 600 });
  });

  it('sends the whole sentence to the next provider when the first fails before any audio', async () => {
    const a = scriptedTts('a', { failAfterChunks: 0 });
    const b = scriptedTts('b');
    const r = await speak(chain([a, b]), 'Hello there.');
    expect(b.texts).toEqual(['Hello there.']);
    expect(r.providers).toEqual(['b']);
  });

  it('after audio started, sends only the words not yet spoken, and keeps the new voice', async () => {
    // 50 ms per character; failing after 10 chunks of 20 ms = 200 ms ≈ 4 characters at the default rate guess.
    const a = scriptedTts('a', { failAfterChunks: 10, failTimes: 1 });
    const b = scriptedTts('b');
    const c = chain([a, b]);
    const text = 'One two three four five six seven eight.';
    const r = await speak(c, text);
    const failover = r.events.find((e) => e.type === 'failover') as Extract<SpeechEvent, { type: 'failover' }>;
    expect(failover.remainingText.length).toBeLessThan(text.length);
    expect(text.endsWith(failover.remainingText)).toBe(true);
    expect(failover.remainingText).toMatch(/^\S/);
    expect(b.texts).toEqual([failover.remainingText]);
    expect(r.providers).toEqual(['a', 'b']);
    expect(c.order).toEqual(['b', 'a']);
    await speak(c, 'Next sentence.');
    expect(a.texts).toHaveLength(1);
    expect(b.texts.at(-1)).toBe('Next sentence.');
  });

  it('returns to the first voice after a failover when stickiness is off', async () => {
    const a = scriptedTts('a', { failAfterChunks: 0, failTimes: 1 });
    const b = scriptedTts('b');
    const c = chain([a, b], false);
    await speak(c, 'First.');
    const second = await speak(c, 'Second.');
    expect(second.providers).toEqual(['a']);
  });
});
