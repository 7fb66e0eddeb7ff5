// The end-of-turn detector with the real Smart Turn model (fetched by setup; these tests fail, never skip, without
// it): the model thread answers what the model answers in-process, and pipecat's reference figure for a known
// signal; decisions follow the policy; a missing or broken model file is a typed error or, by default, the rule alone.
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWavFile } from '../../../worker/audio/wav-read.ts';
import {
  createEndOfTurnDetector,
  DEFAULT_TURN_MODEL_PATH,
  TurnModelLoadError,
  TurnModelMissingError,
  type EndOfTurnDetector,
} from '../../../worker/end-of-turn/detector.ts';
import { hostInt8Kernel } from '../../../worker/end-of-turn/int8-kernel.ts';
import { SmartTurnModel } from '../../../worker/end-of-turn/smart-turn-model.ts';
import { AudioWorkbench } from '../audio/audio-tools.ts';
import { referenceProbabilityHere, referenceSignal } from './reference-signal.ts';

// Generous: these tests check what is decided, not how fast (the bench measures that), on a loaded machine.
const NO_TIMEOUT = { modelTimeoutMs: 30_000 };

let bench: AudioWorkbench;
let model: SmartTurnModel;
let detector: EndOfTurnDetector;
const speech: Int16Array[] = [];

async function spoken16k(name: string, text: string): Promise<Int16Array> {
  bench.speak(`${name}.wav`, text);
  // As the detector gets it: 16 kHz, 200 ms of silence after the last word; no dither, so the clip is the same every run.
  bench.sox('-D', `${name}.wav`, '-r', '16000', `${name}-16k.wav`, 'reverse', 'silence', '1', '0.02', '1%', 'reverse', 'pad', '0', '0.2');
  return (await readWavFile(bench.path(`${name}-16k.wav`))).pcm;
}

beforeAll(async () => {
  bench = new AudioWorkbench();
  model = await SmartTurnModel.load();
  detector = await createEndOfTurnDetector({ model: 'required', ...NO_TIMEOUT });
  speech.push(await spoken16k('complete', 'I need to change my address.'));
  speech.push(await spoken16k('hanging', 'Could you send it to'));
  speech.push(await spoken16k('question', 'What time does the store open tomorrow?'));
});

afterAll(async () => {
  await detector?.dispose();
  await model?.dispose();
  bench?.remove();
});

describe('the Smart Turn model', () => {
  it('answers pipecat’s reference probability for the reference signal, on this CPU’s int8 kernel', async () => {
    expect(await model.probability(referenceSignal())).toBeCloseTo(referenceProbabilityHere(), 3);
  });

  it('is loaded from the place the fetch script puts it, and says which int8 kernel it runs on', () => {
    expect(DEFAULT_TURN_MODEL_PATH).toMatch(/\.tools\/models\/smart-turn\/smart-turn-v3\.2-cpu\.onnx$/);
    expect(detector.model).toEqual({ state: 'loaded', int8Kernel: hostInt8Kernel() });
  });
});

describe('createEndOfTurnDetector with the model', () => {
  it('gets the model’s own answer from its thread, and decides as the policy says', async () => {
    const decision = await detector.waitMsFor(referenceSignal(), 'Thanks.');
    expect(decision.probability).toBeCloseTo(referenceProbabilityHere(), 3);
    expect(decision.modelSkipped).toBeUndefined();
    expect(decision.inferenceMs).toBeGreaterThan(0);
    expect(decision.rule).toEqual({ verdict: 'complete', reason: 'final-punctuation' });
    const expected = detector.policy.decide(decision.probability, 'complete');
    expect(decision).toMatchObject({ ...expected, complete: expected.tier === 'complete' });
  });

  it('keeps questions asked together apart: each answer is that audio’s', async () => {
    const inProcess = await Promise.all(speech.map((pcm) => model.probability(pcm)));
    const threaded = await Promise.all(speech.map((pcm) => detector.waitMsFor(pcm, '')));
    expect(threaded.map((d) => d.probability)).toEqual(inProcess);
    expect(new Set(inProcess).size).toBe(speech.length); // three different clips, three different answers
  });

  it('never calls a sentence that hangs on "and" complete, whatever the model heard', async () => {
    for (const pcm of speech) {
      const decision = await detector.waitMsFor(pcm, 'My name is John and');
      expect(decision.probability).toBeGreaterThanOrEqual(0);
      expect(decision).toMatchObject({ complete: false, tier: 'incomplete', source: 'rule', waitMs: detector.policy.options.incompleteWaitMs });
    }
  });

  it('decides on the words alone when the model is later than modelTimeoutMs', async () => {
    const impatient = await createEndOfTurnDetector({ model: 'required', modelTimeoutMs: 1 });
    try {
      const decision = await impatient.waitMsFor(speech[0]!, 'I need to change my address.');
      expect(decision).toMatchObject({ modelSkipped: 'timeout', source: 'rule', tier: 'complete', complete: true });
      expect(decision.probability).toBeUndefined();
    } finally {
      await impatient.dispose();
    }
  });

  it('re-judges a newer transcript of the same silence with the model’s answer kept', async () => {
    const early = await detector.waitMsFor(speech[0]!, 'I need to change my');
    expect(early).toMatchObject({ tier: 'incomplete', source: 'rule' });
    const later = detector.reconsider(early, 'I need to change my address.');
    expect(later.probability).toBe(early.probability);
    expect(later.inferenceMs).toBe(early.inferenceMs);
    expect(later.rule.verdict).toBe('complete');
    expect(later).toMatchObject(detector.policy.decide(early.probability, 'complete'));
    expect(later.waitMs).toBeLessThan(early.waitMs);
  });

  it('does not ask the model about no audio', async () => {
    expect(await detector.waitMsFor(new Int16Array(0), 'Hello.')).toMatchObject({ modelSkipped: 'no-audio', source: 'rule' });
  });
});

describe('createEndOfTurnDetector without a usable model', () => {
  const missing = '/nonexistent/smart-turn.onnx';

  it('by default runs on the rule alone, says so in its status, its decisions and one warn line', async () => {
    const warnings: Array<{ fields: Record<string, unknown>; message: string }> = [];
    const log = { warn: (fields: Record<string, unknown>, message: string) => warnings.push({ fields, message }) };
    const ruleOnly = await createEndOfTurnDetector({ modelPath: missing, log: log as never });
    expect(ruleOnly.model.state).toBe('absent');
    expect(ruleOnly.model.state === 'absent' && ruleOnly.model.error).toBeInstanceOf(TurnModelMissingError);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.fields.event).toBe('end_of_turn_model_unavailable');
    expect(String(warnings[0]!.fields.error)).toContain(missing);
    const complete = await ruleOnly.waitMsFor(speech[0]!, 'I need to change my address.');
    const hanging = await ruleOnly.waitMsFor(speech[1]!, 'Could you send it to');
    expect(complete).toMatchObject({ modelSkipped: 'absent', source: 'rule', complete: true, waitMs: ruleOnly.policy.options.completeWaitMs });
    expect(hanging).toMatchObject({ modelSkipped: 'absent', source: 'rule', complete: false, waitMs: ruleOnly.policy.options.incompleteWaitMs });
    expect(await ruleOnly.waitMsFor(speech[0]!, 'I need to change my address')).toMatchObject({ source: 'none', tier: 'unsure' });
    await ruleOnly.dispose();
  });

  it('with model "required" rejects with an error naming the file and the set-up command', async () => {
    const error = await createEndOfTurnDetector({ modelPath: missing, model: 'required' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TurnModelMissingError);
    expect((error as TurnModelMissingError).path).toBe(missing);
    expect((error as Error).message).toContain('bash scripts/fetch-turn-model.sh');
  });

  it('tells a file that is not a model from a missing one', async () => {
    const broken = bench.path('broken.onnx');
    writeFileSync(broken, 'not an onnx model');
    const error = await createEndOfTurnDetector({ modelPath: broken, model: 'required' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TurnModelLoadError);
    expect((error as Error).message).toContain(broken);
    const ruleOnly = await createEndOfTurnDetector({ modelPath: broken });
    expect(ruleOnly.model.state).toBe('failed');
    expect(await ruleOnly.waitMsFor(speech[0]!, 'Okay.')).toMatchObject({ modelSkipped: 'failed', source: 'rule' });
  });

  it('with model "off" never loads it', async () => {
    const off = await createEndOfTurnDetector({ model: 'off' });
    expect(off.model).toEqual({ state: 'off' });
    expect(await off.waitMsFor(speech[0]!, 'Okay.')).toMatchObject({ modelSkipped: 'off', source: 'rule' });
    await off.dispose();
    await off.dispose();
  });
});
