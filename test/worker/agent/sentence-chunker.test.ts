// The sentence chunker on token streams split as an OpenAI model streams them: when each chunk goes out (on the
// token that completes it, or only once the next one rules out "3.5", "Dr.", "..."), and that no chunk ends mid-word.
import { describe, expect, it } from 'vitest';
import { SentenceChunker, type ChunkerOptions } from '../../../worker/agent/sentence-chunker.ts';
import { llmPieces } from './llm-pieces.ts';

interface Emitted {
  chunk: string;
  /** Index of the token whose push returned the chunk; `tokens.length` for the flush at the end. */
  atToken: number;
}

function run(tokens: string[], options: Partial<ChunkerOptions> = {}): Emitted[] {
  const c = new SentenceChunker(options);
  const out: Emitted[] = [];
  tokens.forEach((t, i) => out.push(...c.push(t).map((chunk) => ({ chunk, atToken: i }))));
  out.push(...c.flush().map((chunk) => ({ chunk, atToken: tokens.length })));
  return out;
}

const chunksOf = (text: string, options: Partial<ChunkerOptions> = {}) => run(llmPieces(text), options).map((e) => e.chunk);

describe('SentenceChunker: when the first words can go', () => {
  it('ends a sentence at "!", "?" and a plain "." on the token itself, without waiting for the next', () => {
    const tokens = ['Sure', '!', ' I', ' can', ' help', ' with', ' that', '.', ' What', ' time', '?'];
    expect(run(tokens)).toEqual([
      { chunk: 'Sure!', atToken: 1 },
      { chunk: 'I can help with that.', atToken: 7 },
      { chunk: 'What time?', atToken: 10 },
    ]);
  });

  it('sends a first clause of 8 characters or more at its comma, but not a one-word interjection', () => {
    expect(run(llmPieces('Of course, I can book that for you.'))).toEqual([
      { chunk: 'Of course,', atToken: 2 },
      { chunk: 'I can book that for you.', atToken: 9 },
    ]);
    expect(chunksOf("Sure, I'll do that.")).toEqual(["Sure, I'll do that."]);
    // Only the first chunk may be a clause: later ones are whole sentences.
    expect(chunksOf("I'm sorry, I didn't catch that. Could you say it again, please?")).toEqual([
      "I'm sorry,",
      "I didn't catch that.",
      'Could you say it again, please?',
    ]);
  });

  it('waits for the next token after a number: a decimal, a thousands separator, a price', () => {
    const decimal = run(llmPieces('It is 3.5 km away.'));
    expect(decimal).toEqual([{ chunk: 'It is 3.5 km away.', atToken: 8 }]);
    expect(chunksOf('We sold 1,000 units, mostly online.')).toEqual(['We sold 1,000 units,', 'mostly online.']);
    expect(chunksOf('It costs $3.50 in total. Anything else?')).toEqual(['It costs $3.50 in total.', 'Anything else?']);
    // A number ends the sentence once a capital follows; the end of the answer flushes it.
    expect(run(llmPieces('The total is 42. Shall I book it?'))).toEqual([
      { chunk: 'The total is 42.', atToken: 6 },
      { chunk: 'Shall I book it?', atToken: 10 },
    ]);
    expect(chunksOf('We open at 10:30 tomorrow.')).toEqual(['We open at 10:30 tomorrow.']);
  });

  it('does not end sentences at abbreviations, titles or initials, and lets the next word decide "etc." and "No."', () => {
    expect(chunksOf('Dr. Smith will see you at 5 p.m. tomorrow. Is that okay?')).toEqual([
      'Dr. Smith will see you at 5 p.m. tomorrow.',
      'Is that okay?',
    ]);
    expect(chunksOf('J. R. R. Tolkien wrote it, e.g. in Oxford.', { firstClauseMinChars: 500 })).toEqual(['J. R. R. Tolkien wrote it, e.g. in Oxford.']);
    expect(chunksOf('Bring towels, soap, etc. Then check in.', { firstClauseMinChars: 500 })).toEqual(['Bring towels, soap, etc.', 'Then check in.']);
    expect(chunksOf('No. I do not think so.')).toEqual(['No.', 'I do not think so.']);
    expect(chunksOf('Room No. 5 is free. Want it?')).toEqual(['Room No. 5 is free.', 'Want it?']);
    expect(chunksOf('Neither do I. Shall we?')).toEqual(['Neither do I.', 'Shall we?']);
  });

  it('treats an ellipsis as an end only when a capital follows it', () => {
    expect(chunksOf('Well... let me think. Okay.')).toEqual(['Well... let me think.', 'Okay.']);
    expect(chunksOf('Hmm… Let me check that.')).toEqual(['Hmm…', 'Let me check that.']);
  });

  it('speaks a list line by line, never a list number alone', () => {
    expect(chunksOf('Here are the options:\n1. Pizza\n2. Pasta\n3. Salad')).toEqual(['Here are the options:', '1. Pizza', '2. Pasta', '3. Salad']);
    expect(chunksOf('You can pick 1. pizza, 2. pasta or 3. salad.')).toEqual(['You can pick 1. pizza,', '2. pasta or 3. salad.']);
  });

  it('keeps quoted and bracketed sentences whole, and punctuation after a blind cut with its chunk', () => {
    expect(run(llmPieces('He said "stop." Then he left.'))).toEqual([
      { chunk: 'He said "stop."', atToken: 4 },
      { chunk: 'Then he left.', atToken: 8 },
    ]);
    expect(chunksOf('The form (see page two!) is short.')).toEqual(['The form (see page two!) is short.']);
    // "?" went out on its own token; the "!" after it is not a chunk of its own.
    expect(run(['Really', '?', '!', ' Wow', '.'])).toEqual([
      { chunk: 'Really?', atToken: 1 },
      { chunk: 'Wow.', atToken: 4 },
    ]);
  });

  it('never sends an emoji or punctuation alone, and never cuts inside a URL', () => {
    expect(chunksOf('Great job! 🎉 See you soon. 😊')).toEqual(['Great job!', '🎉 See you soon.']);
    expect(chunksOf('Visit example.com/help?topic=billing now. Bye!')).toEqual(['Visit example.com/help?topic=billing now.', 'Bye!']);
    expect(chunksOf('Is it ready 🚀? Yes.')).toEqual(['Is it ready 🚀?', 'Yes.']);
  });

  it('never ends a chunk mid-word, and loses no word', () => {
    const answers = [
      "Sure! I'd be happy to help. The 3.5-mile trail starts at St. Mary's, e.g. near the gate... it's lovely.",
      'Your options: 1. the 10:30 train, 2. the 11:45 bus (cheaper!), or 3. a taxi — about $42.50. Which one?',
      'Hmm… "Is it open?" she asked. No. 7 is closed, etc. Try https://example.com/a?b=c instead. 😊',
      Array.from({ length: 90 }, (_, i) => `word${i}`).join(' '),
    ];
    for (const text of answers) {
      const chunks = chunksOf(text, { maxChars: 80 });
      // A word cut in two would show as two words here.
      expect(chunks.join(' ').split(/\s+/)).toEqual(text.split(/\s+/).filter((w) => w !== '😊'));
      expect(chunks.every((c) => c.length <= 80)).toBe(true);
    }
  });
});
