// Text is released word by word: an answer cut off mid-stream then always ends at a word boundary, so the next
// provider can continue it without half-words or doubled spaces, and the sentence chunker never sees a split word.

/** Splits off what can be released now (up to and including the last whitespace) from what must wait. */
export function releasable(buffer: string): { ready: string; held: string } {
  const cut = Math.max(buffer.lastIndexOf(' '), buffer.lastIndexOf('\n'), buffer.lastIndexOf('\t'));
  if (cut < 0) return { ready: '', held: buffer };
  return { ready: buffer.slice(0, cut + 1), held: buffer.slice(cut + 1) };
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
      return /\s$/.test(delivered) ? text.replace(/^\s+/, '') : text;
    }
  }
  return text;
}
