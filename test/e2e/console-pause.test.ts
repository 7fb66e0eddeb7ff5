// A caller who pauses mid-sentence just past the STT's own endpointing: the turn ends early (Deepgram's speech_final
// with enough VAD silence), the caller goes on inside the VAD's silence window while the agent is still thinking, and
// no word is lost: the rest of the sentence starts the next utterance, the answer to half a sentence never plays, and
// the agent answers the whole sentence once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleEnv, tearDown, makeTempDir, runConsole, speechWav, startFakes, TEST_TIMEOUT_MS, type Fakes } from './console-support.ts';

describe('console: a pause inside a sentence', { timeout: TEST_TIMEOUT_MS }, () => {
  let fakes: Fakes;
  let dir: string;

  beforeAll(async () => {
    fakes = await startFakes();
    dir = await makeTempDir('console-pause');
  });
  afterAll(() => tearDown(fakes, dir));

  /** "What is the weather like … in Paris tomorrow morning", with a 380 ms pause between the halves; fakes reset to hear them. */
  async function pausedQuestion(name: string): Promise<string> {
    const input = await speechWav(dir, name, [
      { silenceMs: 1_000 },
      { say: 'What is the weather like' },
      { silenceMs: 380 },
      { say: 'in Paris tomorrow morning' },
      { silenceMs: 4_000 },
    ]);
    fakes.reset();
    fakes.deepgram.script.pushTranscripts('what is the weather like', 'in paris tomorrow morning');
    return input;
  }

  it('keeps every word and answers the whole sentence once', async () => {
    const input = await pausedQuestion('pause');
    // In real time (not --fast), so the timing is robust: the LLM takes 500 ms, the caller resumes about 400 ms into
    // it, and without the rule the answer would start playing well before 400 ms of resumed speech could cut it.
    fakes.openai.setProfile({ ttfbMs: 500 });
    // A fixed end of turn, with a VAD silence window longer than espeak's pause, so only the STT's endpointing can end
    // the first half (the judged end of turn would wait: the next test), and no flush in the pause (whose words would
    // come before the endpoint: the test after).
    const env = consoleEnv(fakes, { END_OF_TURN: 'fixed', END_OF_TURN_SILENCE_MS: '900', STT_FLUSH_SILENCE_MS: '0' });
    const run = await runConsole({ input, dir, name: 'pause', env, fast: false });

    // Both halves were kept, back to back, with one answer after them: to the whole sentence.
    expect(run.report.history.map((m) => [m.role, m.text])).toEqual([
      ['user', 'what is the weather like'],
      ['user', 'in paris tomorrow morning'],
      ['assistant', 'You said: "what is the weather like in paris tomorrow morning". That is interesting.'],
    ]);
    // The model was finally asked about the whole sentence.
    const chats = fakes.openai.requests.filter((r) => r.route === 'chat');
    expect(chats.at(-1)!.bodyText).toContain('what is the weather like in paris tomorrow morning');
    // The answer that started after the first half never reached the caller.
    const answered = run.report.turns.filter((t) => t.agentAudioStartedAtMs !== undefined);
    expect(answered).toHaveLength(1);
    expect(answered[0]!.userText).toBe('in paris tomorrow morning');
    expect(run.report.history.some((m) => m.interrupted)).toBe(false);
  });

  it('with the flush in the pause (the default), the endpoint never comes for the first half: one turn, one answer', async () => {
    const input = await pausedQuestion('pause-flushed');
    fakes.openai.setProfile({ ttfbMs: 500 });
    const run = await runConsole({ input, dir, name: 'pause-flushed', env: consoleEnv(fakes, { END_OF_TURN: 'fixed', END_OF_TURN_SILENCE_MS: '900' }), fast: false });
    // Deepgram was asked for the first half's words 100 ms into the pause (its Finalize), so its endpoint had nothing
    // left to end; the fixed 900 ms did not pass before the caller went on.
    expect(run.report.history.map((m) => [m.role, m.text])).toEqual([
      ['user', 'what is the weather like in paris tomorrow morning'],
      ['assistant', 'You said: "what is the weather like in paris tomorrow morning". That is interesting.'],
    ]);
    expect(fakes.openai.requests.filter((r) => r.route === 'chat')).toHaveLength(1);
  });

  it('with the end of turn judged (the default), the sentence left hanging waits out the pause: one turn, one answer', async () => {
    // The fake finds the two halves by their energy, and finalises each (speech_final after the first, in the pause).
    const input = await pausedQuestion('pause-judged');
    const run = await runConsole({ input, dir, name: 'pause-judged', env: consoleEnv(fakes), fast: false });
    // "...like" hangs on a preposition: the STT's endpoint in the pause does not end the turn, the caller goes on.
    expect(run.report.history.map((m) => [m.role, m.text])).toEqual([
      ['user', 'what is the weather like in paris tomorrow morning'],
      ['assistant', 'You said: "what is the weather like in paris tomorrow morning". That is interesting.'],
    ]);
    expect(fakes.openai.requests.filter((r) => r.route === 'chat')).toHaveLength(1);
  });
});
