// LLM text in, speakable chunks out. Whole sentences in general; the answer's first chunk may be a clause (at a
// comma, semicolon, colon or dash once it is long enough) so the caller hears the agent sooner. A chunk never ends
// mid-word; very long runs are split at a comma or space so no chunk makes the caller wait for a paragraph.
//
// When to cut without seeing what follows: "?" and "!" after a plain word, "." after a plain word that is no
// abbreviation or initial, and a comma or semicolon after a plain word, are ends whatever the next token says, so
// they go out at once (saving one token, ≈ 12 ms at 80 tokens/s, and the first clause comes far sooner). What the
// next token can change still waits for it: a digit before "." or "," ("3.5", "1,000"), abbreviations ("Dr.",
// "e.g."), initials ("J."), "..." and "…", anything inside open quotes or brackets, a colon ("10:30", "https:").
// (A "." inside a word, as in "example.com", comes with the letters after it: tokenizers make ".com" one piece.)

export interface ChunkerOptions {
  /** The first chunk may end at a clause boundary once this many characters come before it. */
  firstClauseMinChars: number;
  /** Any chunk is split (at the last comma or space) beyond this many characters. */
  maxChars: number;
}

// 8 characters before the comma: "Of course," "I'm sorry," "Absolutely," "Hi there," go out alone, "Sure," "Well,"
// "Yes," do not. Spoken, 8+ characters last ≈ 0.6 s with the comma's pause, which covers producing the next
// sentence (≈ 60 characters: 190 ms at 80 tokens/s, 375 ms at 40) plus its TTS first byte, so the clause does not
// leave a gap before the sentence that follows it; a lone one-word interjection would, at slower LLM rates.
export const DEFAULT_CHUNKER_OPTIONS: ChunkerOptions = { firstClauseMinChars: 8, maxChars: 240 };

/** Followed by a name or a continuation: never the end of a sentence. */
const NEVER_ENDS = new Set([
  'mr', 'mrs', 'ms', 'dr', 'prof', 'sr', 'jr', 'st', 'mt', 'ft', 'gen', 'gov', 'capt', 'lt', 'sgt', 'rev', 'hon',
  'vs', 'e.g', 'i.e', 'ph', 'cf', 'approx', 'ca', 'dept', 'fig', 'vol', 'ave', 'blvd', 'rd', 'apt', 'ext', 'tel',
]);
/** May end a sentence ("…and pears, etc. Then") or not ("No. 5", "5 p.m. tomorrow"): the next word decides. */
const MAY_END = new Set(['etc', 'inc', 'ltd', 'co', 'corp', 'no', 'a.m', 'p.m', 'est', 'min', 'max']);

const MARKS = '.!?…';
const CLOSERS = `"'”’)]`;
const CLAUSE_MARKS = ',;:—';
const SPEAKABLE = /[\p{L}\p{N}]/u;
/** A word made of letters (an apostrophe or hyphen inside): nothing a following character could turn into a number. */
const PLAIN_WORD = /^\p{L}[\p{L}'’-]*$/u;
/** Like PLAIN_WORD, digits allowed ("at 5?"): a question or exclamation mark after it ends the sentence. */
const PLAIN_OR_NUMBER = /^[\p{L}\p{N}][\p{L}\p{N}'’-]*$/u;
const OPENERS = /^["'“‘(\[]+/u;

type Verdict = 'cut' | 'no' | 'wait';

/** The word just before `i`, without opening quotes or brackets. */
function wordBefore(text: string, i: number): string {
  const start = Math.max(text.lastIndexOf(' ', i - 1), text.lastIndexOf('\n', i - 1)) + 1;
  return text.slice(start, i).replace(OPENERS, '');
}

/** Double quotes or brackets still open before `i`: the sentence may go on after a mark. */
function insideQuoteOrBracket(text: string, i: number): boolean {
  const before = text.slice(0, i);
  const count = (re: RegExp) => before.match(re)?.length ?? 0;
  return count(/"/g) % 2 === 1 || count(/“/g) > count(/”/g) || count(/\(/g) > count(/\)/g);
}

/** The next word's first character after whitespace at `from`, or undefined when it has not arrived yet. */
function nextWordStart(text: string, from: number): string | undefined {
  return /^\s*(\S)/.exec(text.slice(from))?.[1];
}

const startsLowercase = (ch: string) => /\p{Ll}/u.test(ch);

/** A bare number as the first word of a line: "1." of a list, not the end of a sentence. */
function isListMarker(text: string, i: number, word: string): boolean {
  if (!/^\d+$/.test(word)) return false;
  const lineStart = text.lastIndexOf('\n', i - 1) + 1;
  return text.slice(lineStart, i - word.length).trim() === '';
}

/** Whether the run of marks at [i, end) (closing quotes/brackets included) ends a sentence. */
function sentenceEnd(text: string, i: number, end: number): Verdict {
  const marks = text.slice(i, end).replace(/["'”’)\]]/g, '');
  const atEnd = end >= text.length;
  if (!atEnd && !/\s/.test(text[end]!)) return 'no'; // "3.5", "e.g.", "?!x", a URL
  const word = wordBefore(text, i);
  const next = atEnd ? undefined : nextWordStart(text, end);
  if (/[?!]/.test(marks)) {
    if (/[)\]]/.test(text.slice(i, end))) return 'no'; // "(see page two!) is short": the bracket's, not the sentence's
    if (!atEnd) return 'cut';
    return PLAIN_OR_NUMBER.test(word) && !insideQuoteOrBracket(text, end) ? 'cut' : 'wait';
  }
  if (marks !== '.') {
    // An ellipsis trails off as often as it ends: only a capital after it starts a new sentence.
    if (next === undefined) return 'wait';
    return startsLowercase(next) ? 'no' : 'cut';
  }
  const lower = word.toLowerCase();
  if (NEVER_ENDS.has(lower) || (/^\p{Lu}$/u.test(word) && word !== 'I')) return 'no'; // "Dr. Smith", "J. Doe"
  if (isListMarker(text, i, word)) return 'no';
  if (PLAIN_WORD.test(word) && !MAY_END.has(lower) && (word.length > 1 || !atEnd)) {
    return atEnd && insideQuoteOrBracket(text, end) ? 'wait' : 'cut';
  }
  // A number, "a.m", "etc", "U.S", "example.com", or a lone letter that may be the "e" of "e.g.": the next word
  // decides ("5 p.m. Then" vs "5 p.m. tomorrow").
  if (next === undefined) return 'wait';
  if (lower === 'no' && /\d/.test(next)) return 'no';
  return startsLowercase(next) ? 'no' : 'cut';
}

/** Whether the clause mark at `i` may end the first chunk. */
function clauseEnd(text: string, i: number): Verdict {
  const next = text[i + 1];
  if (next !== undefined) return /\s/.test(next) ? 'cut' : 'no';
  // Without the next character only a comma or semicolon after a plain word is certain ("1,000", "10:30", "https:").
  if (text[i] !== ',' && text[i] !== ';') return 'wait';
  return PLAIN_WORD.test(wordBefore(text, i)) && !insideQuoteOrBracket(text, i) ? 'cut' : 'wait';
}

export class SentenceChunker {
  #buffer = '';
  #emittedAny = false;
  /** The last chunk was cut before its next character was seen: marks or closers arriving next belong to it. */
  #cutBlind = false;
  readonly #options: ChunkerOptions;

  constructor(options: Partial<ChunkerOptions> = {}) {
    this.#options = { ...DEFAULT_CHUNKER_OPTIONS, ...options };
  }

  /** Adds text; returns the chunks now complete. */
  push(text: string): string[] {
    this.#buffer += text;
    if (this.#cutBlind && this.#buffer) {
      // "Really?" went out, then "!" or a closing quote arrived: unspoken punctuation of that chunk, not a new one.
      this.#buffer = this.#buffer.replace(/^[.!?…"'”’)\]]+/, '');
      if (this.#buffer) this.#cutBlind = false;
    }
    const out: string[] = [];
    for (;;) {
      const cut = this.#nextCut();
      if (cut < 0) break;
      const chunk = this.#buffer.slice(0, cut).trim();
      this.#buffer = this.#buffer.slice(cut);
      this.#cutBlind = this.#buffer.length === 0;
      out.push(chunk);
      this.#emittedAny = true;
    }
    return out;
  }

  /** The rest, at the end of the answer (nothing when it holds nothing to say, e.g. a trailing emoji). */
  flush(): string[] {
    const rest = this.#buffer.trim();
    this.#buffer = '';
    return SPEAKABLE.test(rest) ? [rest] : [];
  }

  #nextCut(): number {
    const b = this.#buffer;
    let speakable = false;
    const leading = b.length - b.trimStart().length;
    for (let i = 0; i < b.length; i++) {
      const ch = b[i]!;
      let verdict: Verdict = 'no';
      let end = i + 1;
      if (MARKS.includes(ch)) {
        while (end < b.length && (MARKS.includes(b[end]!) || CLOSERS.includes(b[end]!))) end++;
        verdict = sentenceEnd(b, i, end);
      } else if (ch === '\n') {
        verdict = 'cut';
      } else if (!this.#emittedAny && CLAUSE_MARKS.includes(ch) && i - leading >= this.#options.firstClauseMinChars) {
        verdict = clauseEnd(b, i);
      }
      // A chunk must hold something to say: "…" or an emoji alone is carried into the next one.
      if (verdict === 'cut' && speakable) return end;
      if (verdict === 'wait') break;
      if (SPEAKABLE.test(ch)) speakable = true;
      i = end - 1;
    }
    return this.#overlong();
  }

  #overlong(): number {
    const b = this.#buffer;
    const max = this.#options.maxChars;
    if (b.length <= max) return -1;
    const window = b.slice(0, max);
    const comma = window.lastIndexOf(', ');
    const space = window.lastIndexOf(' ');
    const at = comma > max / 2 ? comma + 1 : space;
    // No space in the window: one "word" longer than a chunk (a URL, a hash), which cannot be cut anywhere better.
    return at > 0 ? at : max;
  }
}
