// The turn detector's VAD adapter: the conversation's VoiceActivity on top of the Silero VAD, adding how long the
// caller has been quiet (what the end of turn is checked against). Its events carry stream positions, not audio.
import { Vad, type VadOptions } from '../audio/vad.ts';
import type { VadEvent, VoiceActivity } from './types.ts';

export class SileroActivity implements VoiceActivity {
  readonly #vad: Vad;
  #trailingSilenceMs = 0;

  private constructor(vad: Vad) {
    this.#vad = vad;
  }

  static async create(options: VadOptions): Promise<SileroActivity> {
    return new SileroActivity(await Vad.create(options));
  }

  get preRollMs(): number {
    return this.#vad.options.preRollMs;
  }

  get trailingSilenceMs(): number {
    return this.#trailingSilenceMs;
  }

  async push(frame16k: Int16Array): Promise<VadEvent[]> {
    const events = await this.#vad.push(frame16k);
    const frameMs = (frame16k.length / 16_000) * 1000;
    this.#trailingSilenceMs = this.#vad.probability < this.#vad.options.negativeThreshold ? this.#trailingSilenceMs + frameMs : 0;
    const out: VadEvent[] = [];
    for (const e of events) if (e.type !== 'speech_audio') out.push({ type: e.type, atMs: e.atMs });
    return out;
  }

  async dispose(): Promise<void> {
    await this.#vad.dispose();
  }
}
