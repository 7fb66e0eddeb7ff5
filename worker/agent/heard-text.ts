// What the caller actually heard of an answer: each spoken chunk occupies a span of the output timeline, so when
// playback is cut at some played position, the chunks before it were heard whole and the one in progress in part
// (estimated in proportion, keeping only the words wholly covered).

interface Span {
  index: number;
  text: string;
  startMs: number;
  endMs: number;
}

export class SpokenTimeline {
  readonly #spans: Span[] = [];
  #endMs: number;

  /** `startMs`: the sink's written position (played + queued) when this answer's first audio goes in. */
  constructor(startMs: number) {
    this.#endMs = startMs;
  }

  /** Audio of `ms` for `text` was queued; consecutive audio of the same chunk extends its span. */
  add(text: string, ms: number, chunkIndex: number): void {
    const last = this.#spans[this.#spans.length - 1];
    if (last && last.index === chunkIndex) last.endMs += ms;
    else this.#spans.push({ index: chunkIndex, text, startMs: this.#endMs, endMs: this.#endMs + ms });
    this.#endMs += ms;
  }

  /** Where each chunk whose audio has not finished playing at `playedMs` ends, in order. */
  unplayedEnds(playedMs: number): number[] {
    return this.#spans.filter((s) => s.endMs > playedMs).map((s) => s.endMs);
  }

  fullText(): string {
    return this.#spans.map((s) => s.text).join(' ');
  }

  heardText(playedMs: number): string {
    return this.heardSpans(playedMs)
      .map((s) => s.heard)
      .filter(Boolean)
      .join(' ')
      .trim();
  }

  /** Each chunk with what was heard of it when playback stopped at `playedMs` ('' for chunks never reached). */
  heardSpans(playedMs: number): { index: number; text: string; heard: string }[] {
    return this.#spans.map((span) => {
      if (playedMs >= span.endMs) return { index: span.index, text: span.text, heard: span.text };
      if (playedMs <= span.startMs) return { index: span.index, text: span.text, heard: '' };
      const share = (playedMs - span.startMs) / (span.endMs - span.startMs);
      const spanWords = span.text.split(/\s+/).filter(Boolean);
      const heard = spanWords.slice(0, Math.floor(spanWords.length * share)).join(' ');
      return { index: span.index, text: span.text, heard };
    });
  }
}
