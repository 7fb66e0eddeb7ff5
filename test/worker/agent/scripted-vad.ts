// A VAD that hears speech where a script says, as the Silero adapter reports it: a start at the span's first frame,
// then `endSilenceMs` of trailing silence before the end (at the silence's start). `onFrame` sees every frame.
import type { VadEvent, VoiceActivity } from '../../../worker/agent/types.ts';

/** The caller speaks from `atMs` (input time) for `ms`. */
export interface SpeechSpan {
  atMs: number;
  ms: number;
}

export class ScriptedVad implements VoiceActivity {
  readonly preRollMs = 0;
  #atMs = 0;
  #inSpeech = false;
  #silenceMs = 0;
  readonly spans: SpeechSpan[];
  readonly endSilenceMs: number;
  readonly onFrame: ((atMs: number) => void) | undefined;

  constructor(spans: SpeechSpan[], endSilenceMs = 300, onFrame?: (atMs: number) => void) {
    this.spans = spans;
    this.endSilenceMs = endSilenceMs;
    this.onFrame = onFrame;
  }

  get trailingSilenceMs(): number {
    return this.#silenceMs;
  }

  async push(frame16k: Int16Array): Promise<VadEvent[]> {
    const startMs = this.#atMs;
    const frameMs = frame16k.length / 16;
    this.#atMs += frameMs;
    this.onFrame?.(startMs);
    const speaking = this.spans.some((s) => startMs >= s.atMs && startMs < s.atMs + s.ms);
    if (speaking) {
      this.#silenceMs = 0;
      if (this.#inSpeech) return [];
      this.#inSpeech = true;
      return [{ type: 'speech_start', atMs: startMs }];
    }
    this.#silenceMs += frameMs;
    if (!this.#inSpeech || this.#silenceMs < this.endSilenceMs) return [];
    this.#inSpeech = false;
    return [{ type: 'speech_end', atMs: this.#atMs - this.#silenceMs }];
  }
}
