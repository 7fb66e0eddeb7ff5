// A long conversation leaves nothing behind per frame, per chunk or per turn: the AbortSignals handed down never
// gather abort listeners, the transport's timers and listeners, the process's Node timers and the live promises stay
// flat from an early turn to the last. Through the real engine on the console transport, with the OpenAI and
// ElevenLabs SDKs against their fakes (every turn streams tokens and ~2 s of 20 ms audio chunks).
import { getEventListeners } from 'node:events';
import v8 from 'node:v8';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileTransport } from '../../../worker/transport/file.ts';
import { runConversation, startVendors, ttsTexts, type SpeechSpan, type Vendors } from './conversation-harness.ts';

const TURNS = 10;
const TURN_MS = 5_000;
const EARLY_TURN = 3;
const SPEECH: SpeechSpan[] = Array.from({ length: TURNS }, (_, i) => ({ atMs: 500 + i * TURN_MS, ms: 1_500 }));

interface Sample {
  turn: number;
  /** Live promises (after a full GC): taken at the early and the last checkpoint only, it walks the heap. */
  promises?: number;
  nodeTimeouts: number;
  transportTimers: number;
}

describe('counts stay flat over a long conversation', { timeout: 180_000 }, () => {
  let vendors: Vendors;
  const signals = new Set<WeakRef<AbortSignal>>();
  const originalAdd = EventTarget.prototype.addEventListener;

  beforeAll(async () => {
    vendors = await startVendors();
    // Every AbortSignal that is given an abort listener is watched from then on.
    EventTarget.prototype.addEventListener = function (this: EventTarget, ...args: Parameters<EventTarget['addEventListener']>) {
      if (this instanceof AbortSignal) signals.add(new WeakRef(this));
      return originalAdd.apply(this, args);
    };
  });
  afterAll(async () => {
    EventTarget.prototype.addEventListener = originalAdd;
    await vendors.close();
  });

  /** The most abort listeners any live, unaborted signal holds right now. */
  function maxAbortListeners(): number {
    let max = 0;
    for (const ref of signals) {
      const signal = ref.deref();
      if (!signal || signal.aborted) {
        signals.delete(ref);
        continue;
      }
      max = Math.max(max, getEventListeners(signal, 'abort').length);
    }
    return max;
  }

  it(`${TURNS} turns, ${(TURNS * TURN_MS) / 20} frames: abort listeners, timers, transport listeners and promises do not grow`, async () => {
    vendors.openai.reset();
    vendors.elevenlabs.reset();
    let transportTimers = 0;
    let transportListeners = 0;
    let peakAbortListeners = 0;
    let frames = 0;
    const samples: Sample[] = [];
    const instrument = (t: FileTransport) => {
      const setTimer = t.setTimer.bind(t);
      t.setTimer = (ms, fn) => {
        transportTimers++;
        let live = true;
        const done = () => {
          if (live) transportTimers--;
          live = false;
        };
        const timer = setTimer(ms, () => (done(), fn()));
        return { cancel: () => (done(), timer.cancel()) };
      };
      const on = t.on.bind(t);
      t.on = (event, listener) => {
        transportListeners++;
        on(event, listener);
      };
    };
    const run = await runConversation({
      vendors,
      inputMs: TURNS * TURN_MS + 500,
      speech: SPEECH,
      transcripts: Array.from({ length: TURNS }, (_, i) => `question number ${i + 1}`),
      speed: 20,
      instrument,
      onFrame: (atMs, conversation) => {
        if (++frames % 10 === 0) peakAbortListeners = Math.max(peakAbortListeners, maxAbortListeners());
        // Just before the caller's next question, when the last answer is over.
        const next = SPEECH.findIndex((s) => s.atMs - 100 === atMs);
        if (next > 0 && conversation.isQuiet()) {
          samples.push({
            turn: next,
            ...(next === EARLY_TURN || next === TURNS - 1 ? { promises: v8.queryObjects(Promise, { format: 'count' }) as number } : {}),
            nodeTimeouts: process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length,
            transportTimers,
          });
        }
      },
    });

    // Every question was answered in full (the fake's answer: its first clause "You said:", then two sentences).
    expect(ttsTexts(vendors.elevenlabs)).toHaveLength(3 * TURNS);
    expect(run.history.filter((m) => m.role === 'assistant')).toHaveLength(TURNS);
    expect(samples.map((s) => s.turn)).toEqual(Array.from({ length: TURNS - 1 }, (_, i) => i + 1));

    // The turn's signal holds at most: the LLM's stop, the TTS attempt's link, one wait on the clock.
    expect(peakAbortListeners).toBeLessThanOrEqual(4);
    expect(transportListeners).toBe(1);
    const early = samples[EARLY_TURN - 1]!;
    const last = samples.at(-1)!;
    expect(last.transportTimers).toBeLessThanOrEqual(early.transportTimers);
    expect(last.nodeTimeouts).toBeLessThanOrEqual(early.nodeTimeouts + 1);
    // Each turn streams hundreds of chunks: a promise kept per chunk would add thousands over these turns.
    expect(last.promises! - early.promises!, JSON.stringify(samples)).toBeLessThan(200);
  });
});
