// When ElevenLabs turns buffered input text into speech over its WebSockets (stream-input and multi-stream-input share
// the rule): on flush; at sentence ends with auto_mode; otherwise once the buffer reaches the chunk length schedule's
// next length (120, 160, 250, 290 characters by default), never cutting a word.

export const DEFAULT_SCHEDULE = [120, 160, 250, 290];
const SENTENCE_END = /[.!?]["')\]]*\s/g;

export class TextBuffer {
  readonly #autoMode: boolean;
  #schedule = DEFAULT_SCHEDULE;
  #scheduleIndex = 0;
  #text = '';

  constructor(autoMode: boolean) {
    this.#autoMode = autoMode;
  }

  /** generation_config.chunk_length_schedule from an initialising message (ignored unless a list of positive numbers). */
  setSchedule(schedule: unknown): void {
    if (Array.isArray(schedule) && schedule.length > 0 && schedule.every((n) => typeof n === 'number' && n > 0)) {
      this.#schedule = schedule as number[];
    }
  }

  push(text: string): void {
    this.#text += text;
  }

  /** The pieces the vendor would speak now without a flush (possibly none). */
  takeReady(): string[] {
    if (this.#autoMode) {
      const last = [...this.#text.matchAll(SENTENCE_END)].at(-1);
      return last ? [this.#take(last.index + last[0].length)] : [];
    }
    const pieces: string[] = [];
    for (;;) {
      const threshold = this.#schedule[Math.min(this.#scheduleIndex, this.#schedule.length - 1)] ?? Infinity;
      const wordEnd = this.#text.lastIndexOf(' ') + 1;
      if (this.#text.length < threshold || wordEnd === 0) return pieces;
      this.#scheduleIndex += 1;
      pieces.push(this.#take(wordEnd));
    }
  }

  /** Everything buffered (flush, end of input). */
  takeAll(): string {
    return this.#take(this.#text.length);
  }

  #take(length: number): string {
    const taken = this.#text.slice(0, length);
    this.#text = this.#text.slice(length);
    return taken;
  }
}
