// In-process providers with scripted behaviour, standing in for vendors at the edge of the fallback engine's tests
// (the engine is what those tests examine; the real adapters meet the fake vendor servers in their own tests).
import type { LlmEvent, LlmProvider, LlmRequest, SttEvent, SttProvider, TtsProvider } from '../../worker/providers/types.ts';
import { ProviderError } from '../../worker/fallback/errors.ts';
import type { ErrorClass } from '../../functions/contract.ts';

export interface ScriptedLlmStep {
  /** Tokens to send, in order. */
  tokens: string[];
  /** ms before the first token (after the call). */
  firstDelayMs?: number;
  /** ms between tokens. */
  gapMs?: number;
  /** After this many tokens: fail with this class, stall forever, or end without the terminator. */
  after?: number;
  fail?: ErrorClass;
  stall?: boolean;
  truncate?: boolean;
  retryAfterMs?: number;
}

export interface CallRecord {
  request: LlmRequest;
  aborted: boolean;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), reject(signal.reason)), { once: true });
  });
}

/** Each call plays the next step of the script (the last one repeats). */
export function scriptedLlm(name: string, steps: ScriptedLlmStep[]): LlmProvider & { calls: CallRecord[] } {
  const calls: CallRecord[] = [];
  return {
    modality: 'llm',
    name,
    model: `${name}-model`,
    calls,
    async *stream(request: LlmRequest, signal: AbortSignal): AsyncGenerator<LlmEvent> {
      const record = { request, aborted: false };
      calls.push(record);
      signal.addEventListener('abort', () => (record.aborted = true), { once: true });
      const step = steps[Math.min(calls.length - 1, steps.length - 1)]!;
      await sleep(step.firstDelayMs ?? 0, signal);
      for (let i = 0; i < step.tokens.length; i++) {
        if (step.after === i) {
          if (step.stall) await sleep(3_600_000, signal);
          if (step.truncate) throw new ProviderError(name, 'truncated', 'stream ended without its terminator');
          if (step.fail) throw new ProviderError(name, step.fail, `scripted ${step.fail} failure`, step.retryAfterMs ? { retryAfterMs: step.retryAfterMs, status: 429 } : {});
        }
        if (i > 0 && step.gapMs) await sleep(step.gapMs, signal);
        yield { type: 'text', text: step.tokens[i]! };
      }
      if (step.after === step.tokens.length) {
        if (step.stall) await sleep(3_600_000, signal);
        if (step.fail) throw new ProviderError(name, step.fail, `scripted ${step.fail} failure`);
        if (step.truncate) throw new ProviderError(name, 'truncated', 'stream ended without its terminator');
      }
      yield { type: 'end', finishReason: 'stop', usage: { outputTokens: step.tokens.length } };
    },
  };
}

/** TTS that makes `msPerChar` ms of audio per character, in 20 ms chunks; may fail after `failAfterChunks`. */
export function scriptedTts(
  name: string,
  options: { sampleRate?: number; msPerChar?: number; failAfterChunks?: number; fail?: ErrorClass; failTimes?: number } = {},
): TtsProvider & { texts: string[] } {
  const sampleRate = options.sampleRate ?? 16_000;
  const texts: string[] = [];
  let failures = 0;
  return {
    modality: 'tts',
    name,
    sampleRate,
    texts,
    async *synthesize({ text }, signal) {
      texts.push(text);
      const totalSamples = Math.round((text.length * (options.msPerChar ?? 50) * sampleRate) / 1000);
      const chunk = sampleRate / 50;
      let sent = 0;
      for (let n = 0; sent < totalSamples; n++) {
        if (signal.aborted) throw signal.reason;
        if (options.failAfterChunks === n && failures < (options.failTimes ?? Infinity)) {
          failures++;
          throw new ProviderError(name, options.fail ?? 'transient', 'scripted failure mid-sentence');
        }
        const size = Math.min(chunk, totalSamples - sent);
        sent += size;
        yield new Int16Array(size).fill(1000);
        await new Promise((r) => setTimeout(r, 0));
      }
    },
  };
}

/** STT that reads the utterance audio and answers with `transcript`; may die after reading `failAfterFrames`. */
export function scriptedStt(
  name: string,
  options: { transcript: string; failAfterFrames?: number; silent?: boolean },
): SttProvider & { framesSeen: number[] } {
  const framesSeen: number[] = [];
  return {
    modality: 'stt',
    name,
    streaming: true,
    framesSeen,
    async *transcribe(request, signal): AsyncGenerator<SttEvent> {
      let frames = 0;
      framesSeen.push(0);
      for await (const frame of request.audio) {
        if (signal.aborted) throw signal.reason;
        frames++;
        framesSeen[framesSeen.length - 1] = frames;
        if (frame.length && frames === 1) yield { type: 'speech_started' };
        if (options.failAfterFrames === frames) throw new ProviderError(name, 'transient', 'socket closed 1011');
      }
      if (options.silent) await sleep(3_600_000, signal);
      yield { type: 'final', text: options.transcript, speechFinal: true };
    },
  };
}
