// LLM text in, speakable chunks out. Whole sentences in general; the answer's first chunk may be a clause (at a
// comma or colon once it is long enough) so the caller hears the agent sooner. Abbreviations and decimals don't end
// sentences; very long runs are split at a comma or space so no chunk makes the caller wait for a paragraph.

export interface ChunkerOptions {
  /** The first chunk may end at a clause boundary once it has this many characters. */
  firstClauseMinChars: number;
  /** Any chunk is split (at the last comma or space) beyond this many characters. */
  maxChars: number;
}

export const DEFAULT_CHUNKER_OPTIONS: ChunkerOptions = { firstClauseMinChars: 24, maxChars: 240 };

const ABBREVIATIONS = new Set(['mr', 'mrs', 'ms', 'dr', 'prof', 'sr', 'jr', 'st', 'vs', 'etc', 'e.g', 'i.e', 'approx', 'no', 'inc', 'ltd']);

function endsSentenceAt(text: string, i: number): boolean {
  const ch = text[i];
  if (ch !== '.' && ch !== '!' && ch !== '?' && ch !== '…') return false;
  const next = text[i + 1];
  // Only a boundary once we see what follows: "3.5", "e.g." and "..." need the next character to judge.
  if (next === undefined || !/\s/.test(next)) return false;
  if (ch === '.') {
    const word = /([A-Za-z.]+)$/.exec(text.slice(0, i))?.[1]?.toLowerCase() ?? '';
    if (ABBREVIATIONS.has(word)) return false;
    if (/^[A-Z]$/.test(text.slice(0, i).split(/\s/).pop() ?? '')) return false; // an initial: "J. Smith"
  }
  return true;
}

function clauseBoundary(text: string, minChars: number): number {
  for (let i = minChars; i < text.length - 1; i++) {
    if ((text[i] === ',' || text[i] === ';' || text[i] === ':' || text[i] === '—') && /\s/.test(text[i + 1] ?? '')) return i + 1;
  }
  return -1;
}

export class SentenceChunker {
  #buffer = '';
  #emittedAny = false;
  readonly #options: ChunkerOptions;

  constructor(options: Partial<ChunkerOptions> = {}) {
    this.#options = { ...DEFAULT_CHUNKER_OPTIONS, ...options };
  }

  /** Adds text; returns the chunks now complete. */
  push(text: string): string[] {
    this.#buffer += text;
    const out: string[] = [];
    for (;;) {
      const cut = this.#nextCut();
      if (cut < 0) break;
      const chunk = this.#buffer.slice(0, cut).trim();
      this.#buffer = this.#buffer.slice(cut);
      if (chunk) {
        out.push(chunk);
        this.#emittedAny = true;
      }
    }
    return out;
  }

  /** The rest, at the end of the answer. */
  flush(): string[] {
    const rest = this.#buffer.trim();
    this.#buffer = '';
    return rest ? [rest] : [];
  }

  #nextCut(): number {
    const b = this.#buffer;
    for (let i = 0; i < b.length; i++) {
      if (endsSentenceAt(b, i)) return i + 1;
      if (b[i] === '\n' && b.slice(0, i).trim()) return i + 1;
    }
    if (!this.#emittedAny) {
      const clause = clauseBoundary(b, this.#options.firstClauseMinChars);
      if (clause > 0) return clause;
    }
    if (b.length > this.#options.maxChars) {
      const window = b.slice(0, this.#options.maxChars);
      const comma = window.lastIndexOf(', ');
      const space = window.lastIndexOf(' ');
      const at = comma > this.#options.maxChars / 2 ? comma + 1 : space;
      return at > 0 ? at : this.#options.maxChars;
    }
    return -1;
  }
}
