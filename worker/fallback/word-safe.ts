// Text is released word by word: an answer cut off mid-stream then always ends at a word boundary, so the next
// provider can continue it without half-words or doubled spaces, and the sentence chunker never sees a split word.
// A word that ends in a sentence or clause mark is finished whatever the next token says, so it goes out at once
// instead of waiting for the whitespace that follows it: otherwise every answer's first sentence waited one token
// more (≈ 12 ms at 80 tokens/s), undoing the chunker's own rule for the same marks (agent/sentence-chunker.ts).
// Digits wait ("3.5", "1,000"), as do colons ("10:30") and anything else a next token could extend.

/**
 * A finished word: letters (an apostrophe or hyphen inside) then , ; ! or ?; two or more letters then . (one letter
 * may be an initial or "e.g."); letters and digits then ! or ?.
 */
const FINISHED_WORD = /^(?:\p{L}[\p{L}'’-]*[,;!?]|\p{L}[\p{L}'’-]+\.|[\p{L}\p{N}][\p{L}\p{N}'’-]*[!?])$/u;

/** Splits off what can be released now (up to the last whitespace, or a finished last word) from what must wait. */
export function releasable(buffer: string): { ready: string; held: string } {
  const cut = Math.max(buffer.lastIndexOf(' '), buffer.lastIndexOf('\n'), buffer.lastIndexOf('\t'));
  const tail = buffer.slice(cut + 1);
  if (FINISHED_WORD.test(tail)) return { ready: buffer, held: '' };
  if (cut < 0) return { ready: '', held: buffer };
  return { ready: buffer.slice(0, cut + 1), held: tail };
}

const MIN_OVERLAP_CHARS = 4;
const MAX_OVERLAP_CHARS = 300;

/**
 * Removes what a continuing provider repeated of the text already delivered, and the leading whitespace a delivered
 * text ending in whitespace makes redundant. `head` is the start of the continuation (long enough to judge).
 */
export function stripRepeat(delivered: string, head: string): string {
  let text = /\s$/.test(delivered) ? head.replace(/^\s+/, '') : head;
  const tail = delivered.trimEnd();
  const limit = Math.min(text.length, tail.length, MAX_OVERLAP_CHARS);
  for (let k = limit; k >= MIN_OVERLAP_CHARS; k--) {
    if (tail.endsWith(text.slice(0, k)) && (k === text.length || /\W/.test(text[k] ?? ' ') || /\W/.test(text[k - 1] ?? ' '))) {
      text = text.slice(k);
      return spaced(delivered, /\s$/.test(delivered) ? text.replace(/^\s+/, '') : text);
    }
  }
  return spaced(delivered, text);
}

/** Delivered text that ends in a finished word ("nice.") needs a space before a continuation's next word. */
function spaced(delivered: string, text: string): string {
  return delivered !== '' && !/\s$/.test(delivered) && /^[\p{L}\p{N}]/u.test(text) ? ` ${text}` : text;
}
