// Silero VAD on real synthesized speech: two sentences separated by a pause are two utterances found where the speech
// is, their audio starts before the first word, and tones, noise and short blips start nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWavFile } from '../../../worker/audio/wav-read.ts';
import { StreamResampler } from '../../../worker/audio/resample.ts';
import { msToSamples, concatPcm } from '../../../worker/audio/frames.ts';
import { Vad, VadDisposedError, type VadEvent, type VadOptions } from '../../../worker/audio/vad.ts';
import { AudioWorkbench, soundExtentMs } from './audio-tools.ts';

const ESPEAK_RATE = 22_050;
// Where a detected boundary may sit around the measured edge of the sound. Silero works on 32 ms windows and scores the
// fading end of a word as speech a little longer than an energy gate does.
const START_TOLERANCE_MS = 150;
const END_EARLY_MS = 150;
const END_LATE_MS = 250;

let bench: AudioWorkbench;
let conversation16k: Int16Array;
const expected: Array<{ onsetMs: number; offsetMs: number }> = [];

/** 22.05 kHz file → 16 kHz the way a live stream gets there: through the streaming resampler, 20 ms at a time. */
async function load16k(name: string): Promise<Int16Array> {
  const wav = await readWavFile(bench.path(name));
  const resampler = new StreamResampler(wav.sampleRate, 16_000);
  const frame = msToSamples(20, wav.sampleRate);
  const parts: Int16Array[] = [];
  for (let at = 0; at < wav.pcm.length; at += frame) parts.push(resampler.push(wav.pcm.subarray(at, at + frame)));
  parts.push(resampler.flush());
  resampler.close();
  return concatPcm(parts);
}


interface Utterance {
  startMs: number;
  endMs: number;
  speechMs: number;
  pcm16k: Int16Array;
}

/** Feeds the audio in frames of `frameMs` (0: all at once) and gathers utterances and the highest probability seen. */
async function detect(pcm16k: Int16Array, options: VadOptions = {}, frameMs = 20) {
  const vad = await Vad.create(options);
  try {
    const events: VadEvent[] = [];
    let maxProbability = 0;
    const frame = frameMs === 0 ? pcm16k.length : msToSamples(frameMs, 16_000);
    for (let at = 0; at < pcm16k.length; at += frame) {
      events.push(...(await vad.push(pcm16k.subarray(at, at + frame))));
      maxProbability = Math.max(maxProbability, vad.probability);
    }
    events.push(...(await vad.flush()));
    return { events, utterances: toUtterances(events), maxProbability };
  } finally {
    await vad.dispose();
  }
}

function toUtterances(events: VadEvent[]): Utterance[] {
  const utterances: Utterance[] = [];
  let open: { startMs: number; parts: Int16Array[] } | undefined;
  for (const event of events) {
    if (event.type === 'speech_start') {
      expect(open, 'speech_start while already speaking').toBeUndefined();
      open = { startMs: event.atMs, parts: [event.pcm16k] };
    } else if (event.type === 'speech_audio') {
      expect(open, 'speech_audio outside an utterance').toBeDefined();
      open!.parts.push(event.pcm16k);
    } else {
      expect(open, 'speech_end without a start').toBeDefined();
      utterances.push({ startMs: open!.startMs, endMs: event.atMs, speechMs: event.speechMs, pcm16k: concatPcm(open!.parts) });
      open = undefined;
    }
  }
  expect(open, 'an utterance left open after flush').toBeUndefined();
  return utterances;
}

function expectNear(utterance: Utterance, speech: { onsetMs: number; offsetMs: number }): void {
  expect(Math.abs(utterance.startMs - speech.onsetMs)).toBeLessThanOrEqual(START_TOLERANCE_MS);
  expect(utterance.endMs).toBeGreaterThanOrEqual(speech.offsetMs - END_EARLY_MS);
  expect(utterance.endMs).toBeLessThanOrEqual(speech.offsetMs + END_LATE_MS);
  expect(utterance.speechMs).toBe(utterance.endMs - utterance.startMs);
}

beforeAll(async () => {
  bench = new AudioWorkbench();
  bench.speak('first.wav', 'The quick brown fox jumps over the lazy dog.');
  bench.speak('second.wav', 'Please call me back tomorrow morning.');
  bench.silence('silence-1s.wav', 1, ESPEAK_RATE);
  bench.silence('silence-1.5s.wav', 1.5, ESPEAK_RATE);
  bench.sox('silence-1s.wav', 'first.wav', 'silence-1.5s.wav', 'second.wav', 'silence-1s.wav', 'conversation.wav');
  conversation16k = await load16k('conversation.wav');

  // Where the speech really is: the sound inside each clip, placed at the clip's offset in the conversation.
  let clipStartMs = 1000;
  for (const [name, pauseAfterMs] of [['first.wav', 1500], ['second.wav', 1000]] as const) {
    const clip = await readWavFile(bench.path(name));
    const extent = soundExtentMs(clip.pcm, clip.sampleRate);
    expected.push({ onsetMs: clipStartMs + extent.onsetMs, offsetMs: clipStartMs + extent.offsetMs });
    clipStartMs += (clip.pcm.length / clip.sampleRate) * 1000 + pauseAfterMs;
  }
});

afterAll(() => bench?.remove());

describe('Silero VAD on synthesized speech', () => {
  it('finds exactly the two sentences of silence · sentence · 1.5 s pause · sentence · silence, where they are', async () => {
    const { events, utterances, maxProbability } = await detect(conversation16k);
    expect(events.filter((e) => e.type !== 'speech_audio').map((e) => e.type)).toEqual([
      'speech_start',
      'speech_end',
      'speech_start',
      'speech_end',
    ]);
    expect(utterances).toHaveLength(2);
    expectNear(utterances[0]!, expected[0]!);
    expectNear(utterances[1]!, expected[1]!);
    expect(maxProbability).toBeGreaterThan(0.9);
  });

  it('delivers each utterance\'s audio from 300 ms before its start, exactly as it was fed in, through the end', async () => {
    const { utterances } = await detect(conversation16k);
    for (const [i, utterance] of utterances.entries()) {
      const from = msToSamples(utterance.startMs - 300, 16_000);
      expect(utterance.pcm16k).toEqual(conversation16k.subarray(from, from + utterance.pcm16k.length));
      // It holds the whole word onset and the whole tail: the audio starts before the sound, ends after it.
      expect(from).toBeLessThan(msToSamples(expected[i]!.onsetMs, 16_000));
      expect(from + utterance.pcm16k.length).toBeGreaterThan(msToSamples(expected[i]!.offsetMs, 16_000));
    }
  });

  it('gives the same events whatever the frame size pushed (10 ms, 20 ms, one chunk)', async () => {
    const summary = (events: VadEvent[]) =>
      events.filter((e) => e.type !== 'speech_audio').map((e) => JSON.stringify({ ...e, pcm16k: undefined }));
    const by20 = await detect(conversation16k, {}, 20);
    const by10 = await detect(conversation16k, {}, 10);
    const whole = await detect(conversation16k, {}, 0);
    expect(summary(by10.events)).toEqual(summary(by20.events));
    expect(summary(whole.events)).toEqual(summary(by20.events));
    expect(whole.utterances.map((u) => u.pcm16k)).toEqual(by20.utterances.map((u) => u.pcm16k));
  });

  it('keeps both sentences in one utterance when minSilenceMs is longer than the pause', async () => {
    const { utterances } = await detect(conversation16k, { minSilenceMs: 2000 });
    expect(utterances).toHaveLength(1);
    expectNear(utterances[0]!, { onsetMs: expected[0]!.onsetMs, offsetMs: expected[1]!.offsetMs });
  });

  it('ignores speech shorter than minSpeechMs: a lone "Hi." counts by default but not with minSpeechMs 600', async () => {
    bench.speak('hi.wav', 'Hi.');
    bench.sox('silence-1s.wav', 'hi.wav', 'silence-1s.wav', 'hi-alone.wav');
    const hi16k = await load16k('hi-alone.wav');
    expect((await detect(hi16k)).utterances).toHaveLength(1);
    const strict = await detect(hi16k, { minSpeechMs: 600 });
    expect(strict.events).toEqual([]);
    expect(strict.maxProbability).toBeGreaterThan(0.5); // it was heard as speech, just too short to count
  });

  it('still finds the two sentences under steady background noise', async () => {
    const seconds = (conversation16k.length / 16_000).toFixed(3);
    bench.sox('conversation.wav', '-r', '16000', 'conversation-16k.wav');
    bench.sox('-R', '-n', '-r', '16000', '-c', '1', '-b', '16', 'hiss.wav', 'synth', seconds, 'whitenoise', 'vol', '0.03');
    bench.sox('-m', 'conversation-16k.wav', 'hiss.wav', 'noisy.wav');
    const noisy = await readWavFile(bench.path('noisy.wav'));
    const { utterances } = await detect(noisy.pcm);
    expect(utterances).toHaveLength(2);
    expectNear(utterances[0]!, expected[0]!);
    expectNear(utterances[1]!, expected[1]!);
  });

  // What Silero does with non-speech: a steady tone and white noise score near 0 (measured ≤ 0.03), far below the
  // negative threshold, at a quiet and at a loud level.
  it.each([
    ['a quiet 440 Hz tone', ['sine', '440', 'vol', '0.1']],
    ['a loud 440 Hz tone', ['sine', '440', 'vol', '0.5']],
    ['quiet white noise', ['whitenoise', 'vol', '0.05']],
    ['loud white noise', ['whitenoise', 'vol', '0.5']],
  ])('does not take %s for speech', async (name, synth) => {
    const file = `${name.replaceAll(' ', '-')}.wav`;
    bench.sox('-R', '-n', '-r', '16000', '-c', '1', '-b', '16', file, 'synth', '3', ...synth);
    const { events, maxProbability } = await detect((await readWavFile(bench.path(file))).pcm);
    expect(events).toEqual([]);
    expect(maxProbability).toBeLessThan(0.2);
  });

  it('loads the v6 model too, which finds the same two sentences', async () => {
    const { utterances } = await detect(conversation16k, { model: 'v6' });
    expect(utterances).toHaveLength(2);
    expectNear(utterances[0]!, expected[0]!);
    expectNear(utterances[1]!, expected[1]!);
  });
});

describe('Vad lifecycle', () => {
  it('ends an utterance still open when the stream stops mid-sentence, at the end of the audio', async () => {
    const cutMs = expected[0]!.onsetMs + 1200;
    const cut = conversation16k.subarray(0, msToSamples(cutMs, 16_000) + 100); // not a whole number of windows
    const { utterances } = await detect(cut);
    expect(utterances).toHaveLength(1);
    expect(utterances[0]!.endMs).toBeCloseTo(cutMs + 100 / 16, 6);
    expect(utterances[0]!.pcm16k.length).toBe(cut.length - msToSamples(utterances[0]!.startMs - 300, 16_000));
  });

  it('after reset, forgets the stream: the same audio gives the same events, timed from 0 again', async () => {
    const vad = await Vad.create();
    try {
      const first: VadEvent[] = [];
      for (let at = 0; at < conversation16k.length / 2; at += 320) first.push(...(await vad.push(conversation16k.subarray(at, at + 320))));
      expect(vad.isSpeaking || first.length > 0).toBe(true);
      await vad.reset();
      expect(vad.isSpeaking).toBe(false);
      expect(vad.processedMs).toBe(0);
      const again: VadEvent[] = [];
      for (let at = 0; at < conversation16k.length / 2; at += 320) again.push(...(await vad.push(conversation16k.subarray(at, at + 320))));
      expect(again).toEqual(first);
    } finally {
      await vad.dispose();
    }
  });

  it('keeps order when pushes are not awaited one by one', async () => {
    const vad = await Vad.create();
    try {
      const pending: Array<Promise<VadEvent[]>> = [];
      for (let at = 0; at < conversation16k.length; at += 320) pending.push(vad.push(conversation16k.subarray(at, at + 320)));
      pending.push(vad.flush());
      const events = (await Promise.all(pending)).flat();
      const reference = await detect(conversation16k);
      expect(events).toEqual(reference.events);
    } finally {
      await vad.dispose();
    }
  });

  it('refuses work after dispose, and disposing twice is harmless', async () => {
    const vad = await Vad.create();
    await vad.dispose();
    await vad.dispose();
    await expect(vad.push(new Int16Array(512))).rejects.toBeInstanceOf(VadDisposedError);
  });

  it('rejects thresholds and durations that make no sense', async () => {
    await expect(Vad.create({ positiveThreshold: 0.3, negativeThreshold: 0.5 })).rejects.toThrow(/negativeThreshold/);
    await expect(Vad.create({ positiveThreshold: 1.5 })).rejects.toThrow(RangeError);
    await expect(Vad.create({ minSilenceMs: -1 })).rejects.toThrow(/minSilenceMs/);
  });
});
