// The peers bench's word accounting: which words of a cut synthesis went out, and how lost and repeated words are
// counted against the scripted reply; and the caller's count of word-sized runs of sound, on the TTS fake's own audio.
import { describe, expect, it } from 'vitest';
import { pcmFromText } from '../../fakes/kit/audio.ts';
import { loudBursts } from './conversation.ts';
import { accountWords, deliveredWords, lcsLength } from './words.ts';

const REPLY = 'Sure, I can help with that. Let me think about it.';

describe('word accounting', () => {
  it('a synthesis cut after N ms delivered only the words whose audio ended by then (55 ms a character)', () => {
    expect(deliveredWords('Sure, I can help with that.', Infinity)).toEqual(['sure', 'i', 'can', 'help', 'with', 'that']);
    // "Sure, I can" ends at character 11: 605 ms; "help" at 15: 825 ms.
    expect(deliveredWords('Sure, I can help with that.', 800)).toEqual(['sure', 'i', 'can']);
    expect(deliveredWords('Sure, I can help with that.', 0)).toEqual([]);
  });

  it('counts nothing lost or repeated for the reply spoken once, in two pieces', () => {
    const spoken = [
      { atMs: 2, text: 'Let me think about it.', sentMs: Infinity },
      { atMs: 1, text: 'Sure, I can help with that.', sentMs: Infinity },
    ];
    expect(accountWords(REPLY, spoken, 11)).toMatchObject({ expected: 11, delivered: 11, lost: 0, repeated: 0 });
  });

  it('a cut sentence spoken again from its start: the words before the cut are repeated, none lost', () => {
    const spoken = [
      { atMs: 1, text: 'Sure, I can help with that.', sentMs: 800 },
      { atMs: 2, text: 'Sure, I can help with that.', sentMs: Infinity },
      { atMs: 3, text: 'Let me think about it.', sentMs: Infinity },
    ];
    expect(accountWords(REPLY, spoken, 14)).toMatchObject({ delivered: 14, lost: 0, repeated: 3 });
  });

  it('audio the caller never heard is lost, after adding back the healthy run\'s shortfall', () => {
    const spoken = [{ atMs: 1, text: REPLY, sentMs: Infinity }];
    // The caller counted 6 runs; healthy, it counted one short of what was delivered: 7 words played.
    expect(accountWords(REPLY, spoken, 6, 1)).toMatchObject({ delivered: 11, lost: 4, repeated: 0 });
    expect(accountWords(REPLY, [], 0)).toMatchObject({ delivered: 0, lost: 11, repeated: 0 });
  });

  it('sentences glued together without a space still count as their words', () => {
    const spoken = [{ atMs: 1, text: 'Sure, I can help with that.Let me think about it.', sentMs: Infinity }];
    expect(accountWords(REPLY, spoken, 10, 1)).toMatchObject({ delivered: 11, lost: 0, repeated: 0 });
  });

  it('longest common subsequence', () => {
    expect(lcsLength(['a', 'b', 'c', 'd'], ['a', 'c', 'd', 'a'])).toBe(3);
    expect(lcsLength([], ['a'])).toBe(0);
  });

  it('the caller counts one run of sound per word of the TTS fake\'s audio, in 10 ms frames', () => {
    const rate = 48_000;
    const pcm = pcmFromText(REPLY, rate);
    const frameSamples = rate / 100;
    const frames = [];
    for (let i = 0; i + frameSamples <= pcm.length; i += frameSamples) {
      const frame = pcm.subarray(i, i + frameSamples);
      const rms = Math.sqrt(frame.reduce((s, v) => s + v * v, 0) / frame.length);
      frames.push({ atMs: i / (rate / 1000), durationMs: 10, loud: rms > 300 });
    }
    expect(loudBursts(frames, 0)).toBe(11);
    expect(loudBursts(frames, 2_000)).toBeLessThan(11);
  });
});
