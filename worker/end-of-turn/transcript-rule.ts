// Is the caller's sentence finished, judged from the words alone? A sentence that ends on a word that needs another
// after it (a conjunction, an article or possessive, a contracted auxiliary, a preposition no question strands, a filler
// such as "um") or on a comma or a dash is not finished, whatever punctuation the STT put after it. One that ends with . ? or ! on any other word
// is. Without either sign (an unpunctuated interim transcript ending in a noun) the rule does not know.
//
// English only, as the agent is: another language gets "unknown" for most sentences, which costs a medium wait, never
// a cut-off.

export type TranscriptVerdict = 'complete' | 'incomplete' | 'unknown';

export interface TranscriptJudgement {
  verdict: TranscriptVerdict;
  /** Why, for logs and the bench (never the transcript itself). */
  reason: 'empty' | 'dangling-word' | 'filler' | 'trailing-comma' | 'trailing-dash' | 'ellipsis' | 'final-punctuation' | 'no-sign';
}

// Words after which an English sentence cannot end. Kept to words that essentially never end one: "up", "in", "so",
// "no", "her", "some", "then", "too" are left out because they do ("pick me up", "I think so", "me too").
const NEVER_LAST = new Set([
  // conjunctions
  'and', 'but', 'or', 'nor', 'because', 'cause', 'if', 'unless', 'although', 'though', 'whereas', 'whether', 'than',
  // articles and possessive determiners
  'a', 'an', 'the', 'my', 'your', 'our', 'their', 'its', 'every',
  // contracted auxiliaries (English never ends a sentence on one) and "I" without its verb
  "i'm", "you're", "we're", "they're", "it's", "i'd", "you'd", "we'd", "i'll", "you'll", "we'll", "i've", "we've", 'i',
  // intensifiers, relatives
  'very', 'which', 'whose',
]);

// Prepositions that need their object, except where English strands them: in a question that moved its object out
// in front ("where are you from?", "what is it for?", "is that the one that you asked about?"). A question with nothing
// moved ("could you send it to?", "can I pay with?") is an STT's question mark after half a sentence.
const STRANDS_PREPOSITION = /\b(what|where|who|whom|whose|which|how|that)\b/;
const PREPOSITIONS = new Set([
  'to', 'of', 'for', 'with', 'from', 'at', 'by', 'into', 'onto', 'about', 'like', 'between', 'without', 'towards',
  'toward', 'during', 'until', 'till', 'via', 'per', 'against', 'among', 'upon',
]);

const FILLERS = new Set(['um', 'umm', 'uh', 'uhh', 'uhm', 'er', 'erm', 'eh', 'hmm', 'mm', 'ah']);

/** Judges the caller's words so far: a final or an interim transcript, as the STT gave it. */
export function judgeTranscript(transcript: string): TranscriptJudgement {
  const text = transcript.trim();
  if (text.length === 0) return { verdict: 'unknown', reason: 'empty' };
  if (/(\.\.\.|…)$/.test(text)) return { verdict: 'incomplete', reason: 'ellipsis' };
  if (/[,;:]$/.test(text)) return { verdict: 'incomplete', reason: 'trailing-comma' };
  if (/(\s-|—|–|-)$/.test(text)) return { verdict: 'incomplete', reason: 'trailing-dash' };

  const words = text.toLowerCase().replace(/[’‘]/g, "'").match(/[a-z]+(?:'[a-z]+)*/g) ?? [];
  const last = words.at(-1);
  if (last !== undefined) {
    if (FILLERS.has(last)) return { verdict: 'incomplete', reason: 'filler' };
    if (NEVER_LAST.has(last)) return { verdict: 'incomplete', reason: 'dangling-word' };
    const stranded = endsWithQuestionMark(text) && STRANDS_PREPOSITION.test(words.slice(0, -1).join(' '));
    if (PREPOSITIONS.has(last) && !stranded) return { verdict: 'incomplete', reason: 'dangling-word' };
  }
  if (/[.?!]["')\]]*$/.test(text)) return { verdict: 'complete', reason: 'final-punctuation' };
  return { verdict: 'unknown', reason: 'no-sign' };
}

/** The words end with a question mark (a closing quote or bracket after it allowed): the STT heard a question. */
export function endsWithQuestionMark(transcript: string): boolean {
  return /\?["')\]]*$/.test(transcript.trim());
}
