// Providers on a virtual clock, for the engine's fast harness: every delay is a timer on the transport's clock, so
// a test runs as fast as the event loop and the timeline is the same every run.
import type { LlmEvent, LlmProvider, LlmRequest, SttEvent, SttProvider, TtsProvider, TtsRequest } from '../../../worker/providers/types.ts';
import { FrameQueue } from '../../../worker/transport/frame-queue.ts';

const RATE = 16_000;
const FRAME = RATE / 50;
const OUT_RATE = 16_000;

export type Timer = (ms: number, fn: () => void) => { cancel(): void };

function delay(setTimer: Timer, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimer(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    const onAbort = () => (t.cancel(), reject(signal!.reason));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** One utterance as the STT answers it. Times are ms of the utterance's audio received (or after its end). */
export interface SttScript {
  /** Results while the audio streams: each once that much of the utterance's audio has arrived. */
  results: ({ atAudioMs: number } & ({ interim: string } | { final: string; speechFinal?: boolean }))[];
  /** When the audio ends (Deepgram's Finalize): answered after `afterMs`, with a final of `text` (may be ''), or not at all. */
  flush: { afterMs: number; text: string } | 'ignored';
  /** An ignored Finalize: the adapter gives up waiting after this long (its grace). */
  graceMs?: number;
  /** A flush asked while the audio goes on (the caller fell silent): answered after `afterMs` with a flushed final. */
  onFlush?: { afterMs: number; text: string } | 'ignored';
  /** Filled in: when (virtual ms) each flush was asked. */
  flushesAtMs?: number[];
}

export function scriptedStt(setTimer: Timer, scripts: SttScript[], now: () => number = () => 0): SttProvider & { received: Int16Array[] } {
  const received: Int16Array[] = [];
  let n = 0;
  return {
    modality: 'stt',
    name: 'deepgram',
    streaming: true,
    received,
    async *transcribe(request, signal): AsyncGenerator<SttEvent> {
      const script = scripts[Math.min(n++, scripts.length - 1)]!;
      const out = new FrameQueue<SttEvent | 'end'>();
      const chunks: Int16Array[] = [];
      let samples = 0;
      let next = 0;
      const unlisten = request.flush?.listen(() => {
        (script.flushesAtMs ??= []).push(now());
        const answer = script.onFlush;
        if (answer && answer !== 'ignored') setTimer(answer.afterMs, () => out.push({ type: 'final', text: answer.text, speechFinal: false, flushed: true }));
      });
      void (async () => {
        for await (const frame of request.audio) {
          chunks.push(frame.slice());
          samples += frame.length;
          while (next < script.results.length && script.results[next]!.atAudioMs <= (samples / RATE) * 1000) {
            const r = script.results[next++]!;
            out.push('interim' in r ? { type: 'interim', text: r.interim } : { type: 'final', text: r.final, speechFinal: r.speechFinal ?? false });
          }
        }
        unlisten?.();
        received.push(concat(chunks));
        const flush = script.flush;
        if (flush === 'ignored') setTimer(script.graceMs ?? 500, () => out.push('end'));
        else setTimer(flush.afterMs, () => (out.push({ type: 'final', text: flush.text, speechFinal: false }), out.push('end')));
      })();
      for await (const ev of out) {
        signal.throwIfAborted();
        if (ev === 'end') return;
        yield ev;
      }
    },
  };
}

export interface LlmScript {
  tokens: string[];
  firstTokenMs?: number;
  gapMs?: number;
}

export interface LlmCall {
  request: LlmRequest;
  aborted: boolean;
  /** Virtual ms of the call. */
  atMs: number;
}

export function scriptedLlm(setTimer: Timer, now: () => number, scripts: LlmScript[]): LlmProvider & { calls: LlmCall[] } {
  const calls: LlmCall[] = [];
  return {
    modality: 'llm',
    name: 'openai',
    model: 'scripted',
    calls,
    async *stream(request, signal): AsyncGenerator<LlmEvent> {
      const call = { request, aborted: false, atMs: now() };
      calls.push(call);
      signal.addEventListener('abort', () => (call.aborted = true), { once: true });
      const s = scripts[Math.min(calls.length - 1, scripts.length - 1)]!;
      await delay(setTimer, s.firstTokenMs ?? 250, signal);
      for (const [i, token] of s.tokens.entries()) {
        if (i > 0) await delay(setTimer, s.gapMs ?? 20, signal);
        yield { type: 'text', text: token };
      }
      yield { type: 'end', finishReason: 'stop' };
    },
  };
}

/** TTS: `msPerChar` of audio per character, in 20 ms chunks, the first after `firstByteMs`. */
export function scriptedTts(setTimer: Timer, o: { firstByteMs?: number; msPerChar?: number } = {}): TtsProvider & { texts: string[]; requests: TtsRequest[] } {
  const requests: TtsRequest[] = [];
  return {
    modality: 'tts',
    name: 'elevenlabs',
    sampleRate: OUT_RATE,
    get texts() {
      return requests.map((r) => r.text);
    },
    requests,
    async *synthesize(request, signal) {
      const { text } = request;
      requests.push(request);
      await delay(setTimer, o.firstByteMs ?? 120, signal);
      const total = Math.round((text.length * (o.msPerChar ?? 40) * OUT_RATE) / 1000);
      for (let sent = 0; sent < total; sent += FRAME) {
        signal.throwIfAborted();
        yield new Int16Array(Math.min(FRAME, total - sent)).fill(1000);
      }
    },
  };
}

function concat(chunks: Int16Array[]): Int16Array {
  const out = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) (out.set(c, at), (at += c.length));
  return out;
}
