// Pure pieces of the conversation engine: the sentence chunker, what was heard of an answer, history, states.
import { describe, expect, it } from 'vitest';
import { SpokenTimeline } from '../../../worker/agent/heard-text.ts';
import { ConversationHistory } from '../../../worker/agent/history.ts';
import { SentenceChunker } from '../../../worker/agent/sentence-chunker.ts';
import { StateMachine } from '../../../worker/agent/state-machine.ts';

function chunkAll(tokens: string[], options = {}): string[] {
  const c = new SentenceChunker(options);
  const out = tokens.flatMap((t) => c.push(t));
  return [...out, ...c.flush()];
}

const tokenize = (s: string) => s.match(/.{1,3}/gs) ?? [];

describe('SentenceChunker', () => {
  it('cuts sentences, and the first chunk early at a clause once it is long enough', () => {
    const text = 'Well, the weather in Paris today, as far as I know, is mild. It may rain later! Bring an umbrella?';
    expect(chunkAll(tokenize(text))).toEqual([
      'Well, the weather in Paris today,',
      'as far as I know, is mild.',
      'It may rain later!',
      'Bring an umbrella?',
    ]);
  });

  it('does not cut at abbreviations, initials or decimals', () => {
    const text = 'Dr. Smith met J. Doe at 3.5 km from St. Paul, e.g. near the river. Then they left.';
    expect(chunkAll(tokenize(text), { firstClauseMinChars: 500 })).toEqual([
      'Dr. Smith met J. Doe at 3.5 km from St. Paul, e.g. near the river.',
      'Then they left.',
    ]);
  });

  it('splits a very long run without punctuation, and loses no text', () => {
    const words = Array.from({ length: 120 }, (_, i) => `word${i}`).join(' ');
    const chunks = chunkAll(tokenize(words), { maxChars: 100 });
    expect(chunks.every((c) => c.length <= 100)).toBe(true);
    expect(chunks.join(' ')).toBe(words);
  });
});

describe('SpokenTimeline', () => {
  it('keeps the chunks played whole and the whole words of the one in progress', () => {
    const t = new SpokenTimeline(1_000);
    t.add('Hello there.', 800, 0);
    t.add('The weather is lovely today.', 500, 1);
    t.add('The weather is lovely today.', 500, 1);
    t.add('Anything else?', 700, 2);
    expect(t.heardText(1_000)).toBe('');
    expect(t.heardText(1_800)).toBe('Hello there.');
    expect(t.heardText(2_300)).toBe('Hello there. The weather');
    expect(t.heardText(99_999)).toBe('Hello there. The weather is lovely today. Anything else?');
    expect(t.fullText()).toBe('Hello there. The weather is lovely today. Anything else?');
  });
});

describe('ConversationHistory', () => {
  it('keeps the last N, merges back-to-back caller turns, and starts the model view with the caller', () => {
    const h = new ConversationHistory(3);
    h.add({ role: 'assistant', text: 'Hi, how can I help?' });
    h.add({ role: 'user', text: 'Book a table' });
    h.add({ role: 'user', text: 'for two' });
    h.add({ role: 'assistant', text: 'For when?' });
    h.add({ role: 'user', text: 'Tonight.' });
    expect(h.messages.map((m) => m.text)).toEqual(['Book a table for two', 'For when?', 'Tonight.']);
    const fresh = new ConversationHistory(5, [{ role: 'assistant', text: 'Hello!' }, { role: 'user', text: 'Hi' }]);
    expect(fresh.forModel()).toEqual([{ role: 'user', text: 'Hi' }]);
  });
});

describe('StateMachine', () => {
  it('emits every transition and refuses the ones that make no sense', () => {
    let now = 0;
    const m = new StateMachine(() => now);
    const seen: string[] = [];
    m.onTransition((t) => seen.push(`${t.from}>${t.to}@${t.atMs}`));
    m.to('listening', 'start');
    now = 5;
    m.to('thinking', 'end of turn');
    m.to('speaking', 'first audio');
    m.to('listening', 'done');
    expect(seen).toEqual(['idle>listening@0', 'listening>thinking@5', 'thinking>speaking@5', 'speaking>listening@5']);
    expect(() => new StateMachine(() => 0).to('thinking', 'x')).toThrow(/idle → thinking/);
  });
});
