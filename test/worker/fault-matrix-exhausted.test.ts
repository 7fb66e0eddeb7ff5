// Every provider of a chain failing, through the REAL adapters against the fake vendors: the caller gets one typed
// ChainExhaustedError naming each failure (after one failover event per provider), every attempt leaves a valid
// outcome record, the breakers open, and once the vendors are healthy again and the cool-down has passed the
// half-open breakers let one probe through and the chain answers again. The breakers run on a hand-driven clock
// with a short cool-down, so "after the cool-down" is exact rather than slept through.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BreakerRegistry, type BreakerPolicy } from '../../worker/fallback/breaker.ts';
import { ChainExhaustedError } from '../../worker/fallback/errors.ts';
import { streamAnswer } from '../../worker/fallback/llm-chain.ts';
import { transcribeUtterance } from '../../worker/fallback/stt-chain.ts';
import { TtsChain } from '../../worker/fallback/tts-chain.ts';
import { pcmFromText } from '../fakes/kit/audio.ts';
import {
  buildFakeChains,
  closeChains,
  collect,
  manualClock,
  outcomeLog,
  outcomeSummary,
  requestsOn,
  startVendorFakes,
  type VendorFakes,
} from './fault-matrix-support.ts';

/** One failure opens a breaker; it half-opens after a short cool-down. */
const BREAKER_POLICY: BreakerPolicy = { openAfterConsecutiveFailures: 1, coolDownMs: 1_000 };
const POLICY = { firstChunkTimeoutMs: 500, stallTimeoutMs: 300 };
const REQUEST = { system: 'Be brief.', messages: [{ role: 'user' as const, text: 'Are you there?' }] };
const REPLY = 'Yes, I am here and listening.';

let fakes: VendorFakes;
let closeAfter: (() => Promise<void>) | undefined;
beforeAll(async () => {
  fakes = await startVendorFakes();
});
afterEach(async () => {
  await closeAfter?.();
  closeAfter = undefined;
  fakes.reset();
});
afterAll(async () => {
  await fakes?.close();
});

const failuresOf = (error: unknown) => {
  expect(error).toBeInstanceOf(ChainExhaustedError);
  return (error as ChainExhaustedError).failures.map((f) => [f.provider, f.errorClass, f.status]);
};

describe('every provider of a chain fails', () => {
  it('LLM: a typed error naming each failure, then answers again once the breakers half-open', async () => {
    const clock = manualClock();
    const breakers = new BreakerRegistry(BREAKER_POLICY, clock.now);
    const chains = buildFakeChains(fakes, { llm: ['openai', 'anthropic', 'groq'] });
    const ask = async () => {
      const log = outcomeLog();
      const r = await collect(streamAnswer({ links: chains.llm, breakers, policy: POLICY, onOutcome: log.record }, REQUEST, AbortSignal.timeout(15_000)));
      const text = r.events.map((e) => (e.type === 'text' ? e.text : '')).join('');
      return { ...r, text, outcomes: log.outcomes };
    };
    fakes.openai.faults.push({ kind: 'status', status: 500, route: 'chat' });
    fakes.anthropic.faults.push({ kind: 'status', status: 529, route: 'messages' });
    fakes.groq.faults.push({ kind: 'reset', route: 'chat' });

    const failed = await ask();
    expect(failuresOf(failed.error)).toEqual([
      ['openai', 'transient', 500],
      ['anthropic', 'transient', 529],
      ['groq', 'transient', undefined],
    ]);
    expect((failed.error as ChainExhaustedError).modality).toBe('llm');
    expect((failed.error as Error).message).toBe('every llm provider failed: openai (transient), anthropic (transient), groq (transient)');
    expect(failed.events.map((e) => (e.type === 'failover' ? [e.from, e.to] : e.type))).toEqual([
      ['openai', 'anthropic'],
      ['anthropic', 'groq'],
      ['groq', null],
    ]);
    expect(outcomeSummary(failed.outcomes)).toEqual([
      ['openai', false, 'transient'],
      ['anthropic', false, 'transient'],
      ['groq', false, 'transient'],
    ]);
    expect(['openai', 'anthropic', 'groq'].map((p) => breakers.state(p))).toEqual(['open', 'open', 'open']);

    // Cool-down over: each breaker lets one probe through. OpenAI is still failing, so its probe re-opens it and
    // the next provider answers in the same request.
    clock.advance(BREAKER_POLICY.coolDownMs);
    expect(['openai', 'anthropic', 'groq'].map((p) => breakers.state(p))).toEqual(['half-open', 'half-open', 'half-open']);
    fakes.openai.faults.push({ kind: 'status', status: 500, route: 'chat' });
    fakes.anthropic.script.pushReplies(REPLY);
    const healing = await ask();
    expect(healing.error).toBeUndefined();
    expect(healing.text).toBe(REPLY);
    expect(outcomeSummary(healing.outcomes)).toEqual([
      ['openai', false, 'transient'],
      ['anthropic', true, undefined],
    ]);
    expect([breakers.state('openai'), breakers.state('anthropic'), breakers.state('groq')]).toEqual(['open', 'closed', 'half-open']);
    expect(breakers.msUntilRetry('openai')).toBe(BREAKER_POLICY.coolDownMs);

    // Healthy now: after its next cool-down OpenAI's probe succeeds and it leads again.
    clock.advance(BREAKER_POLICY.coolDownMs);
    fakes.openai.script.pushReplies(REPLY);
    const healed = await ask();
    expect(healed.text).toBe(REPLY);
    expect(outcomeSummary(healed.outcomes)).toEqual([['openai', true, undefined]]);
    expect(breakers.state('openai')).toBe('closed');
    expect([requestsOn(fakes.openai, 'chat').length, requestsOn(fakes.anthropic, 'messages').length, requestsOn(fakes.groq, 'chat').length]).toEqual([3, 2, 1]);
  });

  it('TTS: a typed error and no audio, then the sentence is spoken again once the breakers half-open', async () => {
    const clock = manualClock();
    const log = outcomeLog();
    const chains = buildFakeChains(fakes, { tts: ['elevenlabs', 'openai'] });
    const chain = new TtsChain({ links: chains.tts, breakers: new BreakerRegistry(BREAKER_POLICY, clock.now), policy: POLICY, onOutcome: log.record });
    const sentence = 'Sorry, could you say that again?';
    fakes.elevenlabs.faults.push({ kind: 'status', status: 500, route: 'tts' });
    fakes.openai.faults.push({ kind: 'status', status: 503, route: 'speech' });

    const failed = await collect(chain.speak(sentence, AbortSignal.timeout(15_000)));
    expect(failuresOf(failed.error)).toEqual([
      ['elevenlabs', 'transient', 500],
      ['openai', 'transient', 503],
    ]);
    expect(failed.events.map((e) => (e.type === 'failover' ? [e.from, e.to] : e.type))).toEqual([
      ['elevenlabs', 'openai'],
      ['openai', null],
    ]);
    expect(outcomeSummary(log.outcomes)).toEqual([
      ['elevenlabs', false, 'transient'],
      ['openai', false, 'transient'],
    ]);

    clock.advance(BREAKER_POLICY.coolDownMs);
    const again = await collect(chain.speak(sentence, AbortSignal.timeout(15_000)));
    expect(again.error).toBeUndefined();
    // The voice that took over (openai) keeps the session, even though it failed too.
    const audio = again.events.flatMap((e) => (e.type === 'audio' ? [e] : []));
    expect(audio.every((e) => e.provider === 'openai')).toBe(true);
    expect(Buffer.concat(audio.map((e) => Buffer.from(e.pcm.buffer, e.pcm.byteOffset, e.pcm.byteLength)))).toEqual(
      Buffer.from(pcmFromText(sentence, 24_000).buffer),
    );
    expect(outcomeSummary(log.outcomes).at(-1)).toEqual(['openai', true, undefined]);
  });

  it('STT: a typed error for the utterance, then the next one is transcribed once the breakers half-open', async () => {
    const clock = manualClock();
    const log = outcomeLog();
    const chains = buildFakeChains(fakes, { stt: ['deepgram', 'openai'] });
    closeAfter = () => closeChains(chains);
    const options = { links: chains.stt, breakers: new BreakerRegistry(BREAKER_POLICY, clock.now), resultTimeoutMs: 1_000, onOutcome: log.record };
    const utterance = async function* () {
      for (let i = 0; i < 50; i++) {
        const frame = new Int16Array(320);
        for (let s = 0; s < frame.length; s++) frame[s] = i < 40 ? Math.round(8000 * Math.sin((2 * Math.PI * 440 * (i * 320 + s)) / 16_000)) : 0;
        yield frame;
      }
    };
    fakes.deepgram.faults.push({ kind: 'rejectHandshake', status: 503, route: 'listen' });
    fakes.openai.faults.push({ kind: 'status', status: 500, route: 'transcriptions' });

    const failed = await collect(transcribeUtterance(options, utterance(), 16_000, AbortSignal.timeout(15_000)));
    expect(failuresOf(failed.error)).toEqual([
      ['deepgram', 'transient', 503],
      ['openai', 'transient', 500],
    ]);
    expect(failed.events.map((e) => (e.type === 'restart' ? [e.from, e.to] : e.type))).toEqual([
      ['deepgram', 'openai'],
      ['openai', null],
    ]);
    expect(outcomeSummary(log.outcomes)).toEqual([
      ['deepgram', false, 'transient'],
      ['openai', false, 'transient'],
    ]);

    clock.advance(BREAKER_POLICY.coolDownMs);
    fakes.deepgram.script.pushTranscripts('can you hear me now');
    const again = await collect(transcribeUtterance(options, utterance(), 16_000, AbortSignal.timeout(15_000)));
    expect(again.error).toBeUndefined();
    expect(again.events.filter((e) => e.type === 'final').map((e) => [e.provider, (e as { text: string }).text])).toEqual([
      ['deepgram', 'can you hear me now'],
    ]);
    expect(outcomeSummary(log.outcomes).at(-1)).toEqual(['deepgram', true, undefined]);
  });
});
