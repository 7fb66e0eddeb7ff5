// The words-only judgement: sentences left hanging are incomplete whatever punctuation follows, sentences ended
// with . ? ! on another word are complete, and without either sign the rule says it does not know.
import { describe, expect, it } from 'vitest';
import { judgeTranscript } from '../../../worker/end-of-turn/transcript-rule.ts';

describe('judgeTranscript', () => {
  it.each([
    ['I would like to book a table for two.', 'final-punctuation'],
    ['What time do you open tomorrow?', 'final-punctuation'],
    ['Where are you calling from?', 'final-punctuation'], // a preposition stranded in a question ends it
    ['What is this button for?', 'final-punctuation'],
    ['Who did you talk to?', 'final-punctuation'],
    ['Is that the plan that you asked about?', 'final-punctuation'],
    ['I think so.', 'final-punctuation'],
    ['Me too!', 'final-punctuation'],
    ['He said "that is fine."', 'final-punctuation'],
    ['No.', 'final-punctuation'],
  ])('calls %j complete (%s)', (text, reason) => {
    expect(judgeTranscript(text)).toEqual({ verdict: 'complete', reason });
  });

  it.each([
    ['My name is John and', 'dangling-word'],
    ['My name is John and.', 'dangling-word'], // an STT full stop after a conjunction changes nothing
    ['Can you tell me about the', 'dangling-word'],
    ['I want to order a pizza with', 'dangling-word'],
    ['I was calling because', 'dangling-word'],
    ["I'm", 'dangling-word'],
    ['I’d', 'dangling-word'], // typographic apostrophe
    ['So I was wondering if I', 'dangling-word'],
    ['I need to go to.', 'dangling-word'],
    // A question mark after a yes/no question's preposition: nothing was moved out from after it, so it is half a sentence.
    ['Could you send it to?', 'dangling-word'],
    ['Can I pay with?', 'dangling-word'],
    ['I would like um', 'filler'],
    ['So, uh.', 'filler'],
    ['First, the address,', 'trailing-comma'],
    ['The reason is this:', 'trailing-comma'],
    ['Well I was thinking...', 'ellipsis'],
    ['Well I was thinking…', 'ellipsis'],
    ['I need the —', 'trailing-dash'],
  ])('calls %j incomplete (%s)', (text, reason) => {
    expect(judgeTranscript(text)).toEqual({ verdict: 'incomplete', reason });
  });

  it.each([
    ['', 'empty'],
    ['   ', 'empty'],
    ['I would like to book a table', 'no-sign'], // an interim transcript without punctuation
    ['ok', 'no-sign'],
  ])('does not know about %j (%s)', (text, reason) => {
    expect(judgeTranscript(text)).toEqual({ verdict: 'unknown', reason });
  });
});
