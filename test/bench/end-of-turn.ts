// End of turn: how well the Smart Turn model, the transcript rule and the two combined tell a finished sentence from
// one that is not, what it costs in cut-offs and in waiting, and how long the model takes on this CPU. Sentences are
// spoken by espeak-ng (two voices) at 16 kHz: complete ones whole, unfinished ones (left hanging on "for", "and", …,
// or paused after a word that could end a sentence) spoken with their continuation after a pause and cut 200 ms into
// the pause, where the VAD first hears silence (100 and 400 ms are tried too, for the model alone). Measures and prints; asserts nothing.
//   node test/bench/end-of-turn.ts      (the lead wires it into npm run bench -- --only end-of-turn)
//
// Read the figures knowing that espeak's flat, synthetic prosody is not what the model was trained on (real callers);
// the rule's figures do not depend on the voice at all.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readWavFile } from '../../worker/audio/wav-read.ts';
import { createEndOfTurnDetector, DEFAULT_MODEL_TIMEOUT_MS, type EndOfTurnDecision } from '../../worker/end-of-turn/detector.ts';
import { hostInt8Kernel } from '../../worker/end-of-turn/int8-kernel.ts';
import { LogMelExtractor } from '../../worker/end-of-turn/log-mel.ts';
import { endsWithQuestionMark, judgeTranscript, type TranscriptVerdict } from '../../worker/end-of-turn/transcript-rule.ts';
import type { WaitDecision, WaitPolicy } from '../../worker/end-of-turn/wait-policy.ts';
import { percentile, summarize, table } from './stats.ts';

const COMPLETE = [
  'I need to change my address.', 'What time does the store open tomorrow?', 'Thank you very much.',
  'Can you help me with my order?', 'My flight was cancelled this morning.', 'That sounds good to me.',
  'How much does it cost?', 'I want to speak to a manager.', 'Yes, that is correct.', 'Please cancel my subscription.',
  'Where is the nearest pharmacy?', 'I would like to book a table for two.', 'The package never arrived.',
  'Could you repeat that, please?', 'I already paid the bill last week.', 'Is there a parking lot nearby?',
  'No, that is all for today.', 'My account number is four five six seven.', 'I forgot my password.',
  'Do you deliver on Sundays?',
];
/** Sentences left hanging on a word that needs another: [the words up to the pause, what the caller says after it]. */
const INCOMPLETE: ReadonlyArray<readonly [string, string]> = [
  ['I would like to book a table for', 'two people tonight.'], ['Can you tell me about the', 'opening hours?'],
  ['My name is John and', 'I am calling about my bill.'], ['I think that', 'my card was charged twice.'],
  ['I need to change my', 'delivery address.'], ['Could you send it to', 'my office instead?'],
  ['I was calling because', 'my internet is down.'], ['The problem is that the', 'screen stays black.'],
  ['I want to order a pizza with', 'extra cheese.'], ['So what I really need is a', 'new charger.'],
  ["I'm looking for a hotel near", 'the station.'], ['Um, I was wondering if', 'you are open on Sunday.'],
  ['My daughter and I', 'want to come on Friday.'], ["It's about the invoice from", 'last month.'],
  ['I would like to', 'cancel my order.'], ['Before we start, I', 'have a question.'],
  ['The main reason is, um', 'the price.'], ['Can I pay with', 'a credit card?'],
  ['We will be arriving at', 'around nine.'], ['I tried to log in but', 'it did not work.'],
];
/** Mid-sentence pauses after words that could end a sentence: [before the pause, after it]. */
const PAUSED: ReadonlyArray<readonly [string, string]> = [
  ['I would like to book a table', 'for four people on Friday.'], ['My phone number is five five five', 'one two three four.'],
  ['I want to fly to Paris', 'next Tuesday morning.'], ['Can you check whether my order', 'has shipped yet?'],
  ['I need a taxi to the airport', 'at six tomorrow.'], ['The last time I called', 'nobody answered.'],
  ["I'm calling about my", 'internet connection.'], ['So the thing is', 'my card was declined.'],
];
/** How long the paused callers think: a turn that ends sooner cuts them off. */
const PAUSE_MS = 800;
/** A run of quiet this long inside a clip is the pause espeak-ng was asked for. */
const MIN_GAP_MS = 500;
const VOICES = ['en-us', 'en+f3'];
/** Silence after the last word when the detector is asked (about when the VAD first hears it), and the alternatives tried. */
const TAIL_MS = 200;
const OTHER_TAILS_MS = [100, 400];
const MAX_TAIL_MS = Math.max(TAIL_MS, ...OTHER_TAILS_MS);
/** Today's fixed end of turn: the VAD's minSilenceMs default. */
const FIXED_WAIT_MS = 500;

type Kind = 'complete' | 'incomplete' | 'paused';
interface Sample {
  kind: Kind;
  probability: number;
  verdict: TranscriptVerdict;
  /** The rule's verdict had the STT put a full stop after the words (as Deepgram often does before a pause). */
  stopVerdict: TranscriptVerdict;
  inferenceMs: number;
  roundTripMs: number;
  /**
   * The words as an STT that punctuates questions writes them: a complete question with its "?", and an unfinished
   * one that opens like a question ("Can you check whether my order") given one too, as it may be before a pause.
   */
  question: { verdict: TranscriptVerdict; asked: boolean };
}

/** Words that open a question in English: what an STT's punctuation may close with "?" even when it is unfinished. */
const QUESTION_OPENER = /^(can|could|would|will|shall|should|may|is|are|was|were|do|does|did|have|has|what|where|when|why|who|which|how)\b/i;

function asQuestion(kind: Kind, transcript: string): Sample['question'] {
  const text = kind !== 'complete' && QUESTION_OPENER.test(transcript) ? `${transcript}?` : transcript;
  return { verdict: judgeTranscript(text).verdict, asked: endsWithQuestionMark(text) };
}

const DECIDERS: ReadonlyArray<{ name: string; decide: (policy: WaitPolicy, s: Sample) => WaitDecision }> = [
  { name: 'model', decide: (policy, s) => policy.decide(s.probability, 'unknown') },
  { name: 'rule', decide: (policy, s) => policy.decide(undefined, s.verdict) },
  { name: 'model+rule', decide: (policy, s) => policy.decide(s.probability, s.verdict) },
  { name: 'rule, STT "."', decide: (policy, s) => policy.decide(undefined, s.stopVerdict) },
  { name: 'model+rule, STT "."', decide: (policy, s) => policy.decide(s.probability, s.stopVerdict) },
  { name: 'model+rule, STT "?" (worker)', decide: (policy, s) => policy.decide(s.probability, s.question.verdict, s.question.asked) },
  { name: `fixed ${FIXED_WAIT_MS} ms`, decide: () => ({ waitMs: FIXED_WAIT_MS, tier: 'complete', source: 'none' }) },
];
/** Thinking pauses to score cut-offs against: an unfinished turn is cut off when its wait is shorter than the pause. */
const CUT_OFF_PAUSES_MS = [500, 800, 1200];

function run(tool: string, args: string[]): void {
  execFileSync(tool, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A spoken clip and where its last word ends; `until(ms)` is the audio up to that much silence after it. */
interface Clip {
  until: (silenceMs: number) => Int16Array;
}

function clip(pcm: Int16Array, speechEnd: number): Clip {
  return { until: (silenceMs) => pcm.slice(0, speechEnd + Math.round((silenceMs / 1000) * 16_000)) };
}

/** A complete sentence, leading and trailing silence trimmed, then silence again. */
async function speakWhole(dir: string, voice: string, text: string): Promise<Clip> {
  const [raw, out] = [join(dir, 'raw.wav'), join(dir, 'clip.wav')];
  run('espeak-ng', ['-v', voice, '-w', raw, text]);
  run('sox', ['-D', raw, '-r', '16000', '-b', '16', out, 'silence', '1', '0.02', '1%', 'reverse', 'silence', '1', '0.02', '1%', 'reverse', 'pad', '0', String(MAX_TAIL_MS / 1000)]);
  const pcm = (await readWavFile(out)).pcm;
  return clip(pcm, pcm.length - (MAX_TAIL_MS / 1000) * 16_000);
}

/**
 * A sentence with a pause in it, cut inside the pause: the audio the detector has when the VAD first hears the caller
 * stop. Spoken whole (SSML break), so the words before the pause carry mid-sentence intonation; spoken alone,
 * espeak-ng would give them the falling tone of a sentence's end.
 */
async function speakUntilPause(dir: string, voice: string, before: string, after: string): Promise<Clip> {
  const [raw, out] = [join(dir, 'raw.wav'), join(dir, 'clip.wav')];
  run('espeak-ng', ['-m', '-v', voice, '-w', raw, `<speak>${before} <break time="${PAUSE_MS}ms"/> ${after}</speak>`]);
  run('sox', ['-D', raw, '-r', '16000', '-b', '16', out, 'silence', '1', '0.02', '1%']);
  const pcm = (await readWavFile(out)).pcm;
  return clip(pcm, longestQuiet(pcm, 16_000));
}

/** Where the longest quiet run (10 ms frames below RMS 100) of at least MIN_GAP_MS starts, in samples. */
function longestQuiet(pcm: Int16Array, sampleRate: number): number {
  const frame = sampleRate / 100;
  let best = { start: -1, frames: 0 };
  let run = { start: 0, frames: 0 };
  for (let i = 0; (i + 1) * frame <= pcm.length; i++) {
    let sum = 0;
    for (let j = i * frame; j < (i + 1) * frame; j++) sum += pcm[j]! ** 2;
    if (Math.sqrt(sum / frame) < 100) {
      if (run.frames === 0) run.start = i;
      run.frames++;
      if (run.frames > best.frames) best = { ...run };
    } else run.frames = 0;
  }
  if (best.frames * 10 < MIN_GAP_MS) throw new Error(`no pause of ${MIN_GAP_MS} ms found in the spoken clip`);
  return best.start * frame;
}

interface TailSample {
  kind: Kind;
  tailMs: number;
  probability: number;
}

export interface EndOfTurnFigures {
  text: string;
  samples: Sample[];
}

export async function runEndOfTurnBench(progress: (line: string) => void = () => undefined): Promise<EndOfTurnFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-eot-'));
  // The default timeout would replace slow answers with the rule's; here every probability is wanted, and the
  // answers slower than the default are counted instead.
  const detector = await createEndOfTurnDetector({ model: 'required', modelTimeoutMs: 60_000 });
  const features = new LogMelExtractor();
  const featureMs: number[] = [];
  const samples: Sample[] = [];
  const tails: TailSample[] = [];
  try {
    // The transcript is what an STT would have at that moment: final punctuation on a finished sentence, none before a pause.
    const cases: Array<{ kind: Kind; transcript: string; speak: (voice: string) => Promise<Clip> }> = [
      ...COMPLETE.map((text) => ({ kind: 'complete' as const, transcript: text, speak: (v: string) => speakWhole(dir, v, text) })),
      ...INCOMPLETE.map(([before, after]) => ({ kind: 'incomplete' as const, transcript: before, speak: (v: string) => speakUntilPause(dir, v, before, after) })),
      ...PAUSED.map(([before, after]) => ({ kind: 'paused' as const, transcript: before, speak: (v: string) => speakUntilPause(dir, v, before, after) })),
    ];
    for (const voice of VOICES) {
      progress(`end of turn: ${cases.length} clips in voice ${voice}`);
      for (const c of cases) {
        const spoken = await c.speak(voice);
        const pcm16k = spoken.until(TAIL_MS);
        const startedAt = performance.now();
        const d: EndOfTurnDecision = await detector.waitMsFor(pcm16k, c.transcript);
        const roundTripMs = performance.now() - startedAt;
        if (d.probability === undefined || d.inferenceMs === undefined) throw new Error(`the model did not answer (${d.modelSkipped})`);
        const stopVerdict = c.kind === 'complete' ? d.rule.verdict : judgeTranscript(`${c.transcript}.`).verdict;
        samples.push({ kind: c.kind, probability: d.probability, verdict: d.rule.verdict, stopVerdict, inferenceMs: d.inferenceMs, roundTripMs, question: asQuestion(c.kind, c.transcript) });
        for (const tailMs of OTHER_TAILS_MS) {
          const other = await detector.waitMsFor(spoken.until(tailMs), '');
          tails.push({ kind: c.kind, tailMs, probability: other.probability! });
        }
        const at = performance.now();
        features.extract(pcm16k);
        featureMs.push(performance.now() - at);
      }
    }
    return { text: `${report(samples, featureMs, detector.policy)}\n\n${tailReport(samples, tails, detector.policy)}`, samples };
  } finally {
    await detector.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

const pct = (n: number, of: number) => `${Math.round((100 * n) / Math.max(1, of))}%`.padStart(4);

function report(samples: Sample[], featureMs: number[], policy: WaitPolicy): string {
  const of = (kind: Kind) => samples.filter((s) => s.kind === kind);
  const unfinished = samples.filter((s) => s.kind !== 'complete');
  const p50 = (list: Sample[]) => percentile(list.map((s) => s.probability), 50).toFixed(2);
  const nameWidth = Math.max(...DECIDERS.map((d) => d.name.length));
  const cells = (values: string[]) => values.map((v) => v.padStart(6)).join('');
  const header = `${''.padEnd(nameWidth)}  ${'called complete'.padEnd(18)} │ ${'cut off by pause'.padEnd(18)} │ mean wait ms`;
  const header2 = `${'decider'.padEnd(nameWidth)}  ${cells(['compl', 'hang', 'pause'])} │ ${cells(CUT_OFF_PAUSES_MS.map((ms) => `${ms / 1000} s`))} │ ${cells(['compl', 'unfin'])}`;
  const rows = DECIDERS.map(({ name, decide }) => {
    const called = (kind: Kind) => pct(of(kind).filter((s) => decide(policy, s).tier === 'complete').length, of(kind).length);
    const cutOff = (pause: number) => pct(unfinished.filter((s) => decide(policy, s).waitMs < pause).length, unfinished.length);
    const waits = (list: Sample[]) => String(Math.round(list.reduce((sum, s) => sum + decide(policy, s).waitMs, 0) / Math.max(1, list.length)));
    return `${name.padEnd(nameWidth)}  ${cells([called('complete'), called('incomplete'), called('paused')])} │ ${cells(CUT_OFF_PAUSES_MS.map(cutOff))} │ ${cells([waits(of('complete')), waits(unfinished)])}`;
  });
  const combined = DECIDERS.find((d) => d.name === 'model+rule')!;
  const effective = (countAnswer: boolean) => {
    const waits = of('complete').map((s) => Math.max(combined.decide(policy, s).waitMs, countAnswer ? s.roundTripMs : 0));
    return Math.round(waits.reduce((a, b) => a + b, 0) / Math.max(1, waits.length));
  };
  const late = samples.filter((s) => s.roundTripMs > DEFAULT_MODEL_TIMEOUT_MS).length;
  const { completeWaitMs, unsureWaitMs, incompleteWaitMs, completeThreshold } = policy.options;
  const counts = `${of('complete').length} complete, ${of('incomplete').length} hanging on a word, ${of('paused').length} paused after a word that could end a sentence`;
  return [
    `End of turn (Smart Turn v3.2 CPU int8 via onnxruntime-node on its own thread; espeak-ng voices ${VOICES.join(', ')}; ${counts})`,
    `machine: ${cpus().length} cores (${cpus()[0]?.model.trim() ?? '?'}; int8 kernel ${hostInt8Kernel()}), load ${loadavg().map((v) => v.toFixed(2)).join(' ')} (uptime) — timings are noisy`,
    `policy: complete ${completeWaitMs} ms · unsure ${unsureWaitMs} ms · incomplete ${incompleteWaitMs} ms · model complete at p ≥ ${completeThreshold}`,
    '',
    header,
    header2,
    '─'.repeat(header2.length),
    ...rows,
    '  called complete: share given the short wait — of complete sentences (higher = faster answers), of sentences left',
    '    hanging and of sentences paused mid-way (each one a cut-off if the caller pauses longer than the short wait)',
    '  cut off by pause: share of the unfinished turns (hanging + paused) that would end during a thinking pause that long',
    '  STT ".": the unfinished transcripts given a full stop, as Deepgram often punctuates words before a pause',
    '  STT "?": what the worker decides: a question mark settles an unsure model; unfinished words that open like a',
    '    question are given one (as an STT may punctuate them before a pause), the rest stay unpunctuated',
    questionLine(samples, policy),
    '',
    table(
      'Model time per call (ms)',
      [
        { figure: 'inference', meaning: 'features + ONNX run, on the model thread', summary: summarize(samples.map((s) => s.inferenceMs)) },
        { figure: 'round trip', meaning: 'waitMsFor() on the main thread: to the thread and back', summary: summarize(samples.map((s) => s.roundTripMs)) },
        { figure: 'features', meaning: 'the log-mel spectrogram alone (80 × 800), main thread', summary: summarize(featureMs) },
      ],
      'p95',
    ),
    `complete sentences, model+rule: mean wait ${effective(false)} ms as decided, ${effective(true)} ms counting the model's answer (max(wait, round trip): a decision can only end the turn once it is made)`,
    `answers later than the ${DEFAULT_MODEL_TIMEOUT_MS} ms default timeout (decided by the rule instead): ${late}/${samples.length}`,
    `model probability median: complete ${p50(of('complete'))} · hanging ${p50(of('incomplete'))} · paused ${p50(of('paused'))}`,
  ].join('\n');
}

/** The questions among the samples, and how sure the model was of them: what the question mark can and cannot settle. */
function questionLine(samples: Sample[], policy: WaitPolicy): string {
  const asked = samples.filter((s) => s.question.asked);
  const complete = asked.filter((s) => s.kind === 'complete');
  const { incompleteThreshold, completeThreshold } = policy.options;
  const band = (list: Sample[]) =>
    `${list.filter((s) => s.probability >= completeThreshold).length} model-complete, ${list.filter((s) => s.probability >= incompleteThreshold && s.probability < completeThreshold).length} unsure, ${list.filter((s) => s.probability < incompleteThreshold).length} sure of more`;
  return `  questions: ${complete.length} complete (${band(complete)}); ${asked.length - complete.length} unfinished given a "?" (${band(asked.filter((s) => s.kind !== 'complete'))})`;
}

/** The model's calls by how much silence follows the last word when it is asked: the moment of asking matters. */
function tailReport(samples: Sample[], tails: TailSample[], policy: WaitPolicy): string {
  const all = [...samples.map((s) => ({ kind: s.kind, tailMs: TAIL_MS, probability: s.probability })), ...tails];
  const lines = [TAIL_MS, ...OTHER_TAILS_MS].sort((a, b) => a - b).map((tailMs) => {
    const at = all.filter((t) => t.tailMs === tailMs);
    const called = (kind: Kind) => {
      const list = at.filter((t) => t.kind === kind);
      return pct(list.filter((t) => t.probability >= policy.options.completeThreshold).length, list.length).padStart(6);
    };
    return `${`${tailMs} ms`.padStart(7)}   ${called('complete')}${called('incomplete')}${called('paused')}`;
  });
  const at200 = all.filter((t) => t.tailMs === TAIL_MS);
  const sweep = [0.5, 0.7, 0.8, 0.9, 0.95].map((threshold) => {
    const called = (kind: Kind) => {
      const list = at200.filter((t) => t.kind === kind);
      return pct(list.filter((t) => t.probability >= threshold).length, list.length).padStart(6);
    };
    return `${`p ≥ ${threshold}`.padStart(10)}${called('complete')}${called('incomplete')}${called('paused')}`;
  });
  return [
    'Model alone by the silence after the last word when asked (called complete: compl / hang / pause)',
    ...lines,
    `Model alone by its threshold, asked ${TAIL_MS} ms into the silence (called complete: compl / hang / pause)`,
    ...sweep,
  ].join('\n');
}

if (import.meta.main) {
  const figures = await runEndOfTurnBench((line) => process.stderr.write(`… ${line}\n`));
  console.log(figures.text);
}
