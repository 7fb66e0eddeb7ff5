// A caller who goes quiet, on the fast harness: the agent checks in once after IDLE_PROMPT_MS, says goodbye after a
// further AWAY_GOODBYE_MS, and the conversation's userAway settles (the worker and the console end on it). Caller
// speech at any point starts it over; talking over the goodbye keeps the session.
import { describe, expect, it } from 'vitest';
import { runEngine, type EngineRun, type EngineScript } from './engine-harness.ts';

const AWAY = { idlePromptMs: 2_000, idlePromptText: 'Still there?', awayGoodbyeMs: 3_000, awayGoodbyeText: 'Goodbye now.' };

/** The agent's lines, each with when it was first captioned. */
function lines(run: EngineRun): { text: string; atMs: number }[] {
  const out: { text: string; atMs: number }[] = [];
  for (const h of run.happenings) {
    if (h.kind !== 'caption' || h.t.speaker !== 'agent') continue;
    const seen = out.find((l) => l.text === h.t.text && h.atMs - l.atMs < 1_000);
    if (!seen) out.push({ text: h.t.text, atMs: h.atMs });
  }
  return out;
}

async function settledAway(run: EngineRun): Promise<boolean> {
  let gone = false;
  void run.conversation.userAway.then(() => (gone = true));
  await new Promise((r) => setImmediate(r));
  return gone;
}

async function away(s: Omit<EngineScript, 'options'>, tailMs: number): Promise<EngineRun> {
  return runEngine({ ...s, options: AWAY }, tailMs);
}

describe('user away', () => {
  it('checks in once after the silence, says goodbye after a further one, and ends the session', async () => {
    const run = await away({ caller: [], stt: [], llm: [{ tokens: ['unused'] }] }, 9_000);
    const said = lines(run);
    expect(said.map((l) => l.text)).toEqual(['Still there?', 'Goodbye now.']);
    // The check-in 2 s into the silence; the goodbye 3 s after the check-in finished playing (12 chars × 40 ms).
    expect(said[0]!.atMs).toBeGreaterThanOrEqual(2_000);
    expect(said[0]!.atMs).toBeLessThan(2_000 + 200);
    expect(said[1]!.atMs - said[0]!.atMs).toBeGreaterThanOrEqual(3_000 + 12 * 40);
    expect(said[1]!.atMs - said[0]!.atMs).toBeLessThan(3_000 + 12 * 40 + 300);
    expect(await settledAway(run)).toBe(true);
    expect(run.llm.calls).toHaveLength(0);
    expect(run.history.map((m) => m.text)).toEqual(['Still there?', 'Goodbye now.']);
  });

  it('caller speech after the check-in starts it over: no goodbye for that silence, a whole new check-in later', async () => {
    const run = await away(
      {
        // Silent through the check-in (at 2 s), then "I am here." at 3.0 s, inside what would be the goodbye's wait.
        caller: [{ silenceMs: 3_000 }, { speakMs: 800 }],
        stt: [{ results: [{ atAudioMs: 900, final: 'I am here.', speechFinal: true }], flush: { afterMs: 150, text: '' } }],
        llm: [{ tokens: ['Good.'] }],
      },
      9_000,
    );
    const said = lines(run);
    expect(said.map((l) => l.text)).toEqual(['Still there?', 'Good.', 'Still there?', 'Goodbye now.']);
    // The second check-in counts its silence from the end of the answer, not from the first check-in.
    expect(said[2]!.atMs - said[1]!.atMs).toBeGreaterThanOrEqual(2_000);
    expect(said[3]!.atMs - said[2]!.atMs).toBeGreaterThanOrEqual(3_000);
    expect(await settledAway(run)).toBe(true);
  });

  it('a caller who talks over the goodbye is there after all: the session goes on', async () => {
    // The goodbye starts at about 5.6 s (check-in at 2.0 s, 480 ms long, then 3 s); the caller speaks at 5.7 s.
    const run = await away(
      {
        caller: [{ silenceMs: 5_700 }, { speakMs: 600 }],
        stt: [{ results: [{ atAudioMs: 700, final: 'Wait.', speechFinal: true }], flush: { afterMs: 150, text: '' } }],
        llm: [{ tokens: ['I am here.'] }],
      },
      1_500,
    );
    expect(lines(run).map((l) => l.text)).toEqual(['Still there?', 'Goodbye now.', 'I am here.']);
    expect(run.happenings.some((h) => h.kind === 'clear')).toBe(true);
    expect(await settledAway(run)).toBe(false);
  });

  it('with AWAY_GOODBYE_MS 0 the agent only checks in, once', async () => {
    const run = await runEngine({ caller: [], stt: [], llm: [{ tokens: ['unused'] }], options: { ...AWAY, awayGoodbyeMs: 0 } }, 12_000);
    expect(lines(run).map((l) => l.text)).toEqual(['Still there?']);
    expect(await settledAway(run)).toBe(false);
  });
});

describe('the caller-speech hook (the session warms the answer vendors again on it)', () => {
  it('fires once per utterance, before that utterance is answered', async () => {
    const order: string[] = [];
    const run = await runEngine({
      caller: [{ silenceMs: 500 }, { speakMs: 600 }, { silenceMs: 1_500 }, { speakMs: 600 }],
      stt: [
        { results: [{ atAudioMs: 700, final: 'Hello.', speechFinal: true }], flush: { afterMs: 150, text: '' } },
        { results: [{ atAudioMs: 700, final: 'Thanks.', speechFinal: true }], flush: { afterMs: 150, text: '' } },
      ],
      llm: [{ tokens: ['Hi.'] }, { tokens: ['Bye.'] }],
      options: {
        onCallerSpeech: () => void order.push('caller speaks'),
        report: { record: () => undefined, recordTurn: () => void order.push('turn answered'), appendHistory: () => undefined },
      },
    });
    expect(order).toEqual(['caller speaks', 'turn answered', 'caller speaks', 'turn answered']);
    expect(run.llm.calls).toHaveLength(2);
  });
});
