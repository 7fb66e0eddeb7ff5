// The VAD's decision rules on exact probability sequences (32 ms windows, as Silero gives them at 16 kHz): hysteresis
// between the two thresholds, minimum speech before a start, minimum silence before an end.
import { describe, expect, it } from 'vitest';
import { SpeechGate, type GateChange } from '../../../worker/audio/speech-gate.ts';

const WINDOW_MS = 32;

function run(probabilities: number[], options: Partial<ConstructorParameters<typeof SpeechGate>[0]> = {}) {
  const gate = new SpeechGate({ positiveThreshold: 0.5, negativeThreshold: 0.35, minSpeechMs: 150, minSilenceMs: 500, ...options });
  const changes: GateChange[] = [];
  probabilities.forEach((p, i) => {
    const change = gate.update(p, i * WINDOW_MS, (i + 1) * WINDOW_MS);
    if (change) changes.push(change);
  });
  return { changes, gate };
}

const repeat = (p: number, windows: number) => Array<number>(windows).fill(p);

describe('SpeechGate', () => {
  it('starts speech at the first window of a run once the run has lasted minSpeechMs', () => {
    // 150 ms needs 5 windows (160 ms): the start is reported at the fifth, dated at the first.
    const { changes } = run([...repeat(0.1, 10), ...repeat(0.9, 4)]);
    expect(changes).toEqual([]);
    expect(run([...repeat(0.1, 10), ...repeat(0.9, 5)]).changes).toEqual([{ type: 'start', atMs: 320 }]);
  });

  it('drops a blip shorter than minSpeechMs', () => {
    const { changes, gate } = run([...repeat(0.9, 4), ...repeat(0.1, 20)]);
    expect(changes).toEqual([]);
    expect(gate.isSpeaking).toBe(false);
  });

  it('needs the positive threshold to begin, but only the negative one to keep going (hysteresis)', () => {
    expect(run(repeat(0.45, 30)).changes).toEqual([]); // never reached 0.5
    expect(run([0.6, ...repeat(0.4, 10)]).changes).toEqual([{ type: 'start', atMs: 0 }]);
    expect(run([0.6, 0.4, 0.3, ...repeat(0.4, 10)]).changes).toEqual([]); // fell below 0.35 before 150 ms
  });

  it('ends speech where the silence began, once it has lasted minSilenceMs', () => {
    // 500 ms needs 16 windows (512 ms).
    const speech = repeat(0.9, 10);
    expect(run([...speech, ...repeat(0.1, 15)]).changes).toEqual([{ type: 'start', atMs: 0 }]);
    expect(run([...speech, ...repeat(0.1, 16)]).changes).toEqual([
      { type: 'start', atMs: 0 },
      { type: 'end', atMs: 320, startedAtMs: 0 },
    ]);
  });

  it('keeps a pause shorter than minSilenceMs inside the speech, and honours a configured minSilenceMs', () => {
    const talk = [...repeat(0.9, 10), ...repeat(0.1, 12), ...repeat(0.9, 10), ...repeat(0.1, 40)];
    expect(run(talk).changes).toEqual([
      { type: 'start', atMs: 0 },
      { type: 'end', atMs: 32 * 32, startedAtMs: 0 },
    ]);
    expect(run(talk, { minSilenceMs: 300 }).changes).toEqual([
      { type: 'start', atMs: 0 },
      { type: 'end', atMs: 320, startedAtMs: 0 },
      { type: 'start', atMs: 22 * 32 },
      { type: 'end', atMs: 32 * 32, startedAtMs: 22 * 32 },
    ]);
  });

  it('lets only a confidently positive window cancel a silence that has begun', () => {
    // Silence from window 10; windows between the thresholds neither cancel nor restart it.
    const wavering = [...repeat(0.9, 10), 0.1, ...repeat(0.45, 20)];
    expect(run(wavering).changes).toEqual([
      { type: 'start', atMs: 0 },
      { type: 'end', atMs: 320, startedAtMs: 0 },
    ]);
    // Between the thresholds with no silence begun: still speaking.
    const { changes, gate } = run([...repeat(0.9, 10), ...repeat(0.45, 40)]);
    expect(changes).toEqual([{ type: 'start', atMs: 0 }]);
    expect(gate.isSpeaking).toBe(true);
    expect(gate.silenceStartedAtMs).toBeUndefined();
  });

  it('forgets everything on reset', () => {
    const { gate } = run([...repeat(0.9, 10), 0.1]);
    expect(gate.silenceStartedAtMs).toBe(320);
    gate.reset();
    expect(gate.isSpeaking).toBe(false);
    expect(gate.update(0.9, 0, 32)).toBeUndefined();
  });
});
