// The end of the caller's turn judged by the end-of-turn detector (worker/end-of-turn/), in the engine on the fast
// harness: a complete sentence ends at the short wait, an unfinished one waits the long one (and the STT's endpoint
// does not end it), a caller who goes on inside that wait is one turn, a model that is slow or missing hangs nothing;
// and once with the real Smart Turn model on espeak-ng speech.
import { readWavFile } from '../../../worker/audio/wav-read.ts';
import { createEndOfTurnDetector, DEFAULT_WAIT_POLICY, type EndOfTurnDetector } from '../../../worker/end-of-turn/detector.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AudioWorkbench } from '../audio/audio-tools.ts';
import { FRAME_MS, runEngine, type EngineScript, type SttScript } from './engine-harness.ts';

const { completeWaitMs: COMPLETE, unsureWaitMs: UNSURE, incompleteWaitMs: INCOMPLETE } = DEFAULT_WAIT_POLICY;
const PRE_ROLL_MS = 200;

interface Logged {
  level: string;
  obj: Record<string, unknown>;
}

function capture(): { lines: Logged[]; log: { info(o: object): void; warn(o: object): void; error(o: object): void; debug(o: object): void } } {
  const lines: Logged[] = [];
  const at = (level: string) => (obj: object) => void lines.push({ level, obj: obj as Record<string, unknown> });
  return { lines, log: { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') } };
}

const decided = (lines: Logged[]) => lines.filter((l) => l.obj.event === 'end_of_turn_decided').map((l) => l.obj);

/** Where (stream ms) the audio of each utterance the STT heard ended: the turn's end. */
function audioEndsMs(run: Awaited<ReturnType<typeof runEngine>>, startsMs: number[]): number[] {
  return run.stt.received.map((pcm, i) => startsMs[i]! + pcm.length / 16);
}

/** One utterance: words as the STT streams them, the last with Deepgram's speech_final, then the Finalize flush. */
function stt(...results: SttScript['results']): SttScript {
  return { results, flush: { afterMs: 150, text: '' } };
}

let rule: EndOfTurnDetector;
beforeAll(async () => {
  rule = await createEndOfTurnDetector({ model: 'off' });
});
afterAll(() => rule?.dispose());

/** A model that hears every flat ending as final (as Smart Turn hears espeak), judged with the rule's words. */
function eagerDetector(): EndOfTurnDetector {
  return {
    get model() {
      return rule.model;
    },
    policy: rule.policy,
    waitMsFor: async (_pcm, t) => rule.reconsider({ ...rule.byWords(t), probability: 0.9, modelSkipped: undefined }, t),
    reconsider: (d, t) => rule.reconsider(d, t),
    byWords: (t) => rule.byWords(t),
    dispose: () => Promise.resolve(),
  };
}

async function withRule(s: EngineScript, detector: EndOfTurnDetector = rule) {
  const { lines, log } = capture();
  const run = await runEngine({ ...s, options: { endOfTurn: detector, log, ...s.options } });
  return { run, lines };
}

describe('end of turn from the detector (transcript rule)', () => {
  it('talk over the agent lasts through a pause: "wait… stop" adds up to a barge-in, not two sounds too short for one', async () => {
    // The answer plays from ≈ 2 s; over it the caller says "wait" (3000..3250), pauses 250 ms, says "stop" (3500..3750).
    // Each part is shorter than BARGE_IN_MIN_MS (400); a complete word's short wait (200) would end the first in the pause.
    const { run } = await withRule({
      caller: [{ silenceMs: 500 }, { speakMs: 1_000 }, { silenceMs: 1_500 }, { speakMs: 250 }, { silenceMs: 250 }, { speakMs: 250 }],
      stt: [
        stt({ atAudioMs: 1_200, final: 'Tell me a story.', speechFinal: true }),
        // Its audio starts at 2800 (the pre-roll): "Wait." final with Deepgram's endpoint inside the pause, at 3300.
        stt({ atAudioMs: 400, interim: 'wait' }, { atAudioMs: 500, final: 'Wait.', speechFinal: true }, { atAudioMs: 950, final: 'Stop.', speechFinal: true }),
      ],
      llm: [{ tokens: ['Once upon a time there was a very long story that went on and on and on. ', 'And on.'], firstTokenMs: 100 }, { tokens: ['Sure.'] }],
    }, eagerDetector());
    const clear = run.happenings.find((h) => h.kind === 'clear');
    expect(clear, 'playback was cut').toBeDefined();
    // When the speech since the onset at 3000 (its pause counted, as within one utterance) reached 400: as "stop" began.
    expect(clear!.atMs).toBeGreaterThanOrEqual(3_500);
    expect(clear!.atMs).toBeLessThanOrEqual(3_500 + 3 * FRAME_MS);
    expect(run.llm.calls.map((c) => c.request.messages.at(-1)!.text)).toEqual(['Tell me a story.', 'Wait. Stop.']);
  });

  it('a complete sentence ends at the short wait: sooner than the fixed silence and the STT endpoint', async () => {
    // Speech 500..1500; the final (with speech_final) comes as the speech ends.
    const { run, lines } = await withRule({
      caller: [{ silenceMs: 500 }, { speakMs: 1_000 }],
      stt: [stt({ atAudioMs: 600, interim: 'what time' }, { atAudioMs: 1_200, final: 'What time is it?', speechFinal: true })],
      llm: [{ tokens: ['Noon.'] }],
    });
    expect(audioEndsMs(run, [500 - PRE_ROLL_MS])).toEqual([1_500 + COMPLETE]);
    expect(run.llm.calls.map((c) => c.atMs)).toEqual([1_500 + COMPLETE]);
    expect(decided(lines)).toEqual([expect.objectContaining({ tier: 'complete', source: 'rule', waitMs: COMPLETE, signal: 'vad_silence', rule: 'final-punctuation' })]);
    expect(run.history.map((m) => m.text)).toEqual(['What time is it?', 'Noon.']);
  });

  it('an unfinished sentence waits the long wait, and the STT endpoint does not end it', async () => {
    // Deepgram's speech_final 300 ms into the silence (at 1800) ends a fixed turn there (the next test).
    const { run, lines } = await withRule({
      caller: [{ silenceMs: 500 }, { speakMs: 1_000 }],
      stt: [stt({ atAudioMs: 600, interim: "I'd like" }, { atAudioMs: 1_200, final: "I'd like to book a table for" }, { atAudioMs: 1_500, final: '', speechFinal: true })],
      llm: [{ tokens: ['For how many?'] }],
    });
    expect(audioEndsMs(run, [500 - PRE_ROLL_MS])).toEqual([1_500 + INCOMPLETE]);
    expect(decided(lines)).toEqual([expect.objectContaining({ tier: 'incomplete', waitMs: INCOMPLETE, signal: 'vad_silence', rule: 'dangling-word' })]);
    expect(run.llm.calls).toHaveLength(1);
  });

  it('the same unfinished sentence with a fixed end of turn is cut at the STT endpoint (the baseline)', async () => {
    const run = await runEngine({
      caller: [{ silenceMs: 500 }, { speakMs: 1_000 }],
      stt: [stt({ atAudioMs: 600, interim: "I'd like" }, { atAudioMs: 1_200, final: "I'd like to book a table for" }, { atAudioMs: 1_500, final: '', speechFinal: true })],
      llm: [{ tokens: ['For how many?'] }],
    });
    // The STT's endpoint, 300 ms into the silence (stream 1800), ends the fixed turn there.
    expect(audioEndsMs(run, [500 - PRE_ROLL_MS])).toEqual([1_800]);
  });

  it('a caller who goes on inside the long wait is one turn, answered once with all of their words', async () => {
    // "I'd like to book a table for" 500..1500, a 1 s pause (under the 1.5 s wait), "two people tonight." 2500..3300.
    const { run, lines } = await withRule({
      caller: [{ silenceMs: 500 }, { speakMs: 1_000 }, { silenceMs: 1_000 }, { speakMs: 800 }],
      stt: [
        stt(
          { atAudioMs: 600, interim: "I'd like" },
          { atAudioMs: 1_200, final: "I'd like to book a table for", speechFinal: true },
          { atAudioMs: 3_000, final: 'two people tonight.', speechFinal: true },
        ),
      ],
      llm: [{ tokens: ['Booked.'] }],
    });
    expect(run.stt.received).toHaveLength(1);
    expect(audioEndsMs(run, [500 - PRE_ROLL_MS])).toEqual([3_300 + COMPLETE]);
    expect(run.llm.calls.map((c) => c.request.messages.at(-1)!.text)).toEqual(["I'd like to book a table for two people tonight."]);
    expect(decided(lines)).toEqual([expect.objectContaining({ tier: 'complete', signal: 'vad_silence' })]);
    expect(run.history.filter((m) => m.role === 'user')).toHaveLength(1);
  });

  it('newer words during the wait are judged again: an interim that hung, finalised complete, ends the turn then', async () => {
    // At the silence the words so far hang ("the weather in"); the final, 260 ms into it, completes them.
    const { run, lines } = await withRule({
      caller: [{ silenceMs: 500 }, { speakMs: 1_000 }],
      stt: [stt({ atAudioMs: 1_100, interim: 'what is the weather in' }, { atAudioMs: 1_460, final: 'What is the weather in Paris?', speechFinal: true })],
      llm: [{ tokens: ['Sunny.'] }],
    });
    // The final arrives as the audio reaches 1460 ms (stream 1760): past the short wait already, so the turn ends at once.
    expect(audioEndsMs(run, [500 - PRE_ROLL_MS])).toEqual([1_760]);
    expect(decided(lines)).toEqual([expect.objectContaining({ tier: 'complete', rule: 'final-punctuation' })]);
    expect(run.llm.calls).toHaveLength(1);
  });

  it('a sentence called complete before the STT caught up waits for its endpoint: the words it brings decide', async () => {
    // An eager model, and a transcript that lags the audio (its last interim misses the last word, which comes with
    // the endpoint 300 ms into the silence, at 1800).
    const eager = eagerDetector();
    const { run, lines } = await withRule(
      {
        caller: [{ silenceMs: 500 }, { speakMs: 1_000 }, { silenceMs: 3_000 }, { speakMs: 1_000 }],
        stt: [
          stt({ atAudioMs: 1_100, interim: 'what time is' }, { atAudioMs: 1_500, final: 'what time is it', speechFinal: true }),
          stt({ atAudioMs: 1_100, interim: "I'd like to book a table" }, { atAudioMs: 1_500, final: "I'd like to book a table for", speechFinal: true }),
        ],
        llm: [{ tokens: ['Noon.'] }, { tokens: ['For how many?'] }],
      },
      eager,
    );
    // The first ends with its endpoint (not at 1700 on half its words); the second's endpoint brings "for": the long wait.
    expect(audioEndsMs(run, [500 - PRE_ROLL_MS, 4_500 - PRE_ROLL_MS])).toEqual([1_800, 5_500 + INCOMPLETE]);
    expect(decided(lines).map((d) => [d.tier, d.signal])).toEqual([
      ['complete', 'vad_silence'],
      ['incomplete', 'vad_silence'],
    ]);
  });

  describe('the STT asked for the words when the caller falls silent (its flush, STT_FLUSH_SILENCE_MS)', () => {
    const FLUSH_AFTER_MS = 100;
    // Speech 500..1500 on the audio; the last interim lags ("what time is"), the endpoint's final would come at 1800.
    const lagging = (onFlush: SttScript['onFlush'], flushText = 'what time is it'): SttScript => ({
      results: [{ atAudioMs: 1_100, interim: 'what time is' }, { atAudioMs: 1_500, final: flushText, speechFinal: true }],
      flush: { afterMs: 150, text: '' },
      ...(onFlush ? { onFlush } : {}),
    });
    const eager = eagerDetector;
    const caller = [{ silenceMs: 500 }, { speakMs: 1_000 }];

    it('asks once the silence is 100 ms long; its answer brings the words, and a complete sentence ends at the short wait', async () => {
      const script = lagging({ afterMs: 60, text: 'what time is it' });
      const { run, lines } = await withRule({ caller, stt: [script], llm: [{ tokens: ['Noon.'] }], options: { sttFlushSilenceMs: FLUSH_AFTER_MS } }, eager());
      expect(script.flushesAtMs).toEqual([1_500 + FLUSH_AFTER_MS]);
      // Words in at 1660, the short wait over at 1700: the turn ends there, 100 ms before the STT's own endpoint.
      expect(audioEndsMs(run, [500 - PRE_ROLL_MS])).toEqual([1_500 + COMPLETE]);
      expect(run.llm.calls.map((c) => [c.atMs, c.request.messages.at(-1)?.text])).toEqual([[1_500 + COMPLETE, 'what time is it']]);
      expect(decided(lines).map((d) => [d.tier, d.signal])).toEqual([['complete', 'vad_silence']]);
      expect(run.history.map((m) => m.text)).toEqual(['what time is it', 'Noon.']);
    });

    it('an answer later than the short wait ends the turn the moment it comes', async () => {
      const script = lagging({ afterMs: 180, text: 'what time is it' });
      const { run } = await withRule({ caller, stt: [script], llm: [{ tokens: ['Noon.'] }], options: { sttFlushSilenceMs: FLUSH_AFTER_MS } }, eager());
      const answeredAt = 1_500 + FLUSH_AFTER_MS + 180;
      expect(run.llm.calls).toHaveLength(1);
      expect(run.llm.calls[0]!.atMs).toBeGreaterThanOrEqual(answeredAt);
      expect(run.llm.calls[0]!.atMs).toBeLessThanOrEqual(answeredAt + FRAME_MS);
    });

    it('the flushed words hang ("for"): the long wait, as the endpoint\'s words would have it', async () => {
      const script = lagging({ afterMs: 60, text: "I'd like to book a table for" }, "I'd like to book a table for");
      const { run, lines } = await withRule({ caller, stt: [script], llm: [{ tokens: ['For how many?'] }], options: { sttFlushSilenceMs: FLUSH_AFTER_MS } }, eager());
      expect(audioEndsMs(run, [500 - PRE_ROLL_MS])).toEqual([1_500 + INCOMPLETE]);
      expect(decided(lines).map((d) => d.tier)).toEqual(['incomplete']);
    });

    it('a Deepgram that never answers the flush: the words come with its endpoint, as without the flush', async () => {
      const script = lagging('ignored');
      const { run } = await withRule({ caller, stt: [script], llm: [{ tokens: ['Noon.'] }], options: { sttFlushSilenceMs: FLUSH_AFTER_MS } }, eager());
      expect(script.flushesAtMs).toEqual([1_500 + FLUSH_AFTER_MS]);
      expect(audioEndsMs(run, [500 - PRE_ROLL_MS])).toEqual([1_800]);
    });

    it('a pause shorter than the flush silence asks nothing; off (0), no silence asks', async () => {
      const short = lagging({ afterMs: 60, text: 'what time is it' });
      // 500..1000 speech, an 80 ms pause, speech again to 1500: one flush, in the final silence only.
      await withRule({ caller: [{ silenceMs: 500 }, { speakMs: 500 }, { silenceMs: 80 }, { speakMs: 420 }], stt: [short], llm: [{ tokens: ['Noon.'] }], options: { sttFlushSilenceMs: FLUSH_AFTER_MS } }, eager());
      expect(short.flushesAtMs).toEqual([1_500 + FLUSH_AFTER_MS]);
      const off = lagging({ afterMs: 60, text: 'what time is it' });
      const { run } = await withRule({ caller, stt: [off], llm: [{ tokens: ['Noon.'] }], options: { sttFlushSilenceMs: 0 } }, eager());
      expect(off.flushesAtMs).toBeUndefined();
      expect(audioEndsMs(run, [500 - PRE_ROLL_MS])).toEqual([1_800]);
    });
  });

  it('a model thread that never answers hangs nothing: the words decide once the unsure wait has passed', async () => {
    const stalled: EndOfTurnDetector = {
      get model() {
        return rule.model;
      },
      policy: rule.policy,
      waitMsFor: () => new Promise(() => undefined),
      reconsider: (d, t) => rule.reconsider(d, t),
      byWords: (t) => rule.byWords(t),
      dispose: () => Promise.resolve(),
    };
    const { run, lines } = await withRule(
      {
        caller: [{ silenceMs: 500 }, { speakMs: 1_000 }, { silenceMs: 2_000 }, { speakMs: 1_000 }],
        stt: [
          stt({ atAudioMs: 1_200, final: 'What time is it?' }, { atAudioMs: 1_500, final: '', speechFinal: true }),
          stt({ atAudioMs: 1_200, final: 'Book a table for' }),
        ],
        llm: [{ tokens: ['Noon.'] }, { tokens: ['For how many?'] }],
      },
      stalled,
    );
    // Complete by its words, but the model might have heard more to come: the unsure wait, and the STT's endpoint
    // (at 1800) does not end it before then. Unfinished by its words: the long wait, as ever.
    expect(audioEndsMs(run, [500 - PRE_ROLL_MS, 3_500 - PRE_ROLL_MS])).toEqual([1_500 + UNSURE, 4_500 + INCOMPLETE]);
    expect(decided(lines).map((d) => d.tier)).toEqual(['complete', 'incomplete']);
    expect(run.llm.calls).toHaveLength(2);
  });

  it('without the model file the detector runs on the rule, with one warning, and turns end as the rule says', async () => {
    const { lines: created, log } = capture();
    const absent = await createEndOfTurnDetector({ model: 'optional', modelPath: '/nonexistent/smart-turn.onnx', log });
    try {
      expect(absent.model.state).toBe('absent');
      expect(created.filter((l) => l.level === 'warn').map((l) => l.obj.event)).toEqual(['end_of_turn_model_unavailable']);
      const { run, lines } = await withRule(
        {
          caller: [{ silenceMs: 500 }, { speakMs: 1_000 }],
          stt: [stt({ atAudioMs: 1_200, final: 'What time is it?', speechFinal: true })],
          llm: [{ tokens: ['Noon.'] }],
        },
        absent,
      );
      expect(audioEndsMs(run, [300])).toEqual([1_500 + COMPLETE]);
      expect(decided(lines)).toEqual([expect.objectContaining({ tier: 'complete', modelSkipped: 'absent' })]);
    } finally {
      await absent.dispose();
    }
  });
});

describe('end of turn from the detector (the Smart Turn model, on espeak-ng speech)', () => {
  let bench: AudioWorkbench;
  let model: EndOfTurnDetector;
  const asked = new Set<Promise<unknown>>();
  let held: EndOfTurnDetector;

  beforeAll(async () => {
    bench = new AudioWorkbench();
    model = await createEndOfTurnDetector({ model: 'required', modelTimeoutMs: 30_000 });
    // Every question to the model thread is waited for before the virtual clock moves on: the model's wall time is
    // no virtual time, as on a machine where it answers well inside the short wait.
    held = {
      get model() {
        return model.model;
      },
      policy: model.policy,
      waitMsFor: (pcm, t) => {
        const p = model.waitMsFor(pcm, t);
        asked.add(p);
        void p.finally(() => asked.delete(p));
        return p;
      },
      reconsider: (d, t) => model.reconsider(d, t),
      byWords: (t) => model.byWords(t),
      dispose: () => model.dispose(),
    };
  });
  afterAll(async () => {
    await model?.dispose();
    bench?.remove();
  });

  async function spoken(name: string, text: string): Promise<Int16Array> {
    bench.speak(`${name}.wav`, text);
    bench.sox('-D', `${name}.wav`, '-r', '16000', `${name}-16k.wav`, 'reverse', 'silence', '1', '0.02', '1%', 'reverse');
    return (await readWavFile(bench.path(`${name}-16k.wav`))).pcm;
  }

  /** Stream ms where the first loud 20 ms frame of `pcm` starts and the last one ends, `offsetMs` into the stream. */
  function loudSpanMs(pcm: Int16Array, offsetMs: number): { startMs: number; endMs: number } {
    const frame = 320;
    let start: number | undefined;
    let end = 0;
    for (let at = 0; at + frame <= pcm.length; at += frame) {
      let sum = 0;
      for (let i = at; i < at + frame; i++) sum += pcm[i]! * pcm[i]!;
      if (Math.sqrt(sum / frame) > 300) {
        start ??= at;
        end = at + frame;
      }
    }
    return { startMs: offsetMs + (start ?? 0) / 16, endMs: offsetMs + end / 16 };
  }

  it('the model calls an unpunctuated complete sentence complete (short wait); an unfinished one still waits long', async () => {
    const complete = await spoken('complete', 'I need to change my address.');
    const hanging = await spoken('hanging', "I'd like to book a table for");
    const gapMs = 2_500;
    const secondAtMs = 500 + Math.ceil(complete.length / 320) * FRAME_MS + gapMs;
    const audio = new Int16Array(((secondAtMs + 20) * 16) + hanging.length);
    audio.set(complete, 500 * 16);
    audio.set(hanging, secondAtMs * 16);
    const first = loudSpanMs(complete, 500);
    const second = loudSpanMs(hanging, secondAtMs);
    const { lines, log } = capture();
    const run = await runEngine({
      caller: [],
      callerAudio: audio,
      hold: () => Promise.allSettled([...asked]),
      // Interim words without punctuation: the rule cannot tell, the model decides.
      stt: [
        stt({ atAudioMs: 300, interim: 'i need to change my' }, { atAudioMs: PRE_ROLL_MS + first.endMs - first.startMs, final: 'i need to change my address', speechFinal: true }),
        stt({ atAudioMs: 300, interim: "i'd like to book a" }, { atAudioMs: PRE_ROLL_MS + second.endMs - second.startMs, final: "i'd like to book a table for", speechFinal: true }),
      ],
      llm: [{ tokens: ['Sure.'] }, { tokens: ['For how many?'] }],
      options: { endOfTurn: held, log },
    });
    const turns = decided(lines);
    expect(turns).toEqual([
      expect.objectContaining({ tier: 'complete', source: 'model', waitMs: COMPLETE }),
      expect.objectContaining({ tier: 'incomplete', source: 'rule', waitMs: INCOMPLETE }),
    ]);
    expect(turns[0]!.probability as number).toBeGreaterThanOrEqual(0.5);
    expect(turns[0]!.inferenceMs as number).toBeGreaterThan(0);
    // Each turn ended its wait after the end of speech on the audio (within the VAD's decay and a frame).
    const ends = audioEndsMs(run, [first.startMs - PRE_ROLL_MS, second.startMs - PRE_ROLL_MS]);
    expect(ends).toHaveLength(2);
    expect(ends[0]! - first.endMs).toBeGreaterThanOrEqual(COMPLETE);
    expect(ends[0]! - first.endMs).toBeLessThanOrEqual(COMPLETE + 2 * FRAME_MS);
    expect(ends[1]! - second.endMs).toBeGreaterThanOrEqual(INCOMPLETE);
    expect(ends[1]! - second.endMs).toBeLessThanOrEqual(INCOMPLETE + 2 * FRAME_MS);
    expect(run.llm.calls.map((c) => c.request.messages.at(-1)!.text)).toEqual(['i need to change my address', "i'd like to book a table for"]);
  });
});
