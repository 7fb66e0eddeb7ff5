// Words lost and words repeated in one answer, from what the TTS fakes were asked to speak and what reached the caller.
// - Spoken: every synthesis the TTS fakes served in the question's window, in order (ElevenLabs: each HTTP request and
//   each websocket generation, with how many of its audio chunks went out before a cut; OpenAI speech, the secondary:
//   each request, whole unless the client left). A word counts as delivered when all of its audio went out (the fake's
//   audio puts each word at fixed character offsets, 55 ms a character).
// - Heard: the caller counts runs of sound in what it received (the fake leaves a 55 ms gap at every space; WebRTC's
//   codec smears a few of them, so even a healthy answer counts a run or two short: `burstDeficit`, measured on the
//   same contender's healthy run of the same question, is added back). When it counted fewer runs than words
//   delivered, the agent dropped audio it had been given: the delivered sequence is cut there.
// - Against the scripted reply R: with H the heard sequence and L their longest common subsequence,
//   lost = |R| − L (reply words never heard), repeated = |H| − L (words heard beyond one pass of the reply).
import { MS_PER_CHARACTER, MIN_TTS_DURATION_MS } from '../../fakes/kit/audio.ts';

export interface Spoken {
  atMs: number;
  text: string;
  /** Audio that went out, in ms (Infinity: all of it). */
  sentMs: number;
}

export interface WordAccount {
  expected: number;
  delivered: number;
  heardBursts: number;
  lost: number;
  repeated: number;
  /** The sequence compared with the reply (for reading in the JSON). */
  heard: string[];
}

/** Lower-case words without punctuation; a sentence glued to the next one ("that.Let", as Pipecat sends it) is two. */
export function words(text: string): string[] {
  return text
    .replace(/([.!?,;:])(?=[A-Za-z])/g, '$1 ')
    .toLowerCase()
    .split(/\s+/)
    .map((w) => w.replace(/[^a-z0-9']/g, ''))
    .filter((w) => w.length > 0);
}

/** The words of `text` whose audio lies wholly within the first `sentMs` of its synthesis. */
export function deliveredWords(text: string, sentMs: number): string[] {
  const msPerChar = Math.max(MIN_TTS_DURATION_MS, text.length * MS_PER_CHARACTER) / text.length;
  const out: string[] = [];
  for (const match of text.matchAll(/\S+/g)) {
    const endMs = (match.index + match[0].length) * msPerChar;
    if (endMs <= sentMs + 1) out.push(...words(match[0]));
  }
  return out;
}

export function lcsLength(a: readonly string[], b: readonly string[]): number {
  const row = new Array<number>(b.length + 1).fill(0);
  for (const x of a) {
    let diagonal = 0;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = x === b[j - 1] ? diagonal + 1 : Math.max(row[j]!, row[j - 1]!);
      diagonal = above;
    }
  }
  return row[b.length]!;
}

export function accountWords(reply: string, spoken: readonly Spoken[], heardBursts: number, burstDeficit = 0): WordAccount {
  const expected = words(reply);
  const delivered = [...spoken].sort((a, b) => a.atMs - b.atMs).flatMap((s) => deliveredWords(s.text, s.sentMs));
  const played = heardBursts + Math.max(0, burstDeficit);
  const heard = played < delivered.length ? delivered.slice(0, played) : delivered;
  const common = lcsLength(expected, heard);
  return { expected: expected.length, delivered: delivered.length, heardBursts, lost: expected.length - common, repeated: heard.length - common, heard };
}
