// Provider faults in the middle of a conversation, through the whole console: each turn with a fault is still
// answered (or, with a whole chain down, apologised for) and heard on the output waveform, and the next turn goes on
// normally. The faults are queued on the fake vendors before the run; each hits the first request it matches.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWavFile, type DecodedWav } from '../../worker/audio/wav-read.ts';
import { ttsDurationMsFor } from '../fakes/kit/audio.ts';
import {
  FRAME_MS,
  TEST_TIMEOUT_MS,
  consoleEnv,
  durationMs,
  firstLoudMs,
  tearDown,
  lastLoudEndMs,
  loudMsWithin,
  loudRegions,
  makeTempDir,
  runConsole,
  speechWav,
  startFakes,
  words,
  type ConsoleRun,
  type Fakes,
  type Region,
} from './console-support.ts';

const FIRST = 'what is the weather like today';
const SECOND = 'tell me a joke about cats';
const APOLOGY = 'Sorry, something went wrong on my side. Please say that again.';

describe('console: faults mid-conversation', { timeout: TEST_TIMEOUT_MS }, () => {
  let fakes: Fakes;
  let dir: string;
  let inputPath: string;
  let input: DecodedWav;
  let speech: Region[];

  beforeAll(async () => {
    fakes = await startFakes();
    dir = await makeTempDir('console-faults');
    inputPath = await speechWav(dir, 'two', [
      { silenceMs: 1_000 },
      { say: 'What is the weather like today' },
      { silenceMs: 4_500 },
      { say: 'Tell me a joke about cats' },
      { silenceMs: 1_000 },
    ]);
    input = await readWavFile(inputPath);
    speech = loudRegions(input);
  });

  afterAll(() => tearDown(fakes, dir));

  function run(name: string): Promise<ConsoleRun> {
    return runConsole({ input: inputPath, dir, name, env: consoleEnv(fakes, { APOLOGY_TEXT: APOLOGY }) });
  }

  /** The agent's audio after caller turn `i`: where it starts and ends, and that none overlapped the caller. */
  function agentAudioAfter(r: ConsoleRun, i: number): { startMs: number; endMs: number } {
    expect(speech).toHaveLength(2);
    const from = speech[i]!.endMs;
    const to = speech[i + 1]?.startMs ?? durationMs(r.output);
    for (const region of speech) expect(loudMsWithin(r.output, region.startMs, region.endMs), 'agent audio over the caller').toBe(0);
    const startMs = firstLoudMs(r.output, from, to);
    expect(startMs, `agent audio after caller turn ${i + 1}`).toBeDefined();
    return { startMs: startMs!, endMs: lastLoudEndMs(r.output, from, to)! };
  }

  function expectAnswered(r: ConsoleRun, i: number, text: { user: string; agent: string }): void {
    const turn = r.report.turns.find((t) => t.userText === text.user);
    expect(turn, `a turn for "${text.user}"`).toMatchObject({ agentText: text.agent, interrupted: false });
    const audio = agentAudioAfter(r, i);
    expect(Math.abs(audio.startMs - turn!.agentAudioStartedAtMs!)).toBeLessThanOrEqual(2 * FRAME_MS);
  }

  it('primary LLM answers 500: the backup answers the turn, and the next turn is answered too', async () => {
    fakes.reset();
    fakes.deepgram.script.pushTranscripts(FIRST, SECOND);
    fakes.openai.faults.push({ kind: 'status', status: 500, route: 'chat' });
    fakes.openai.script.pushReplies('Second answer from OpenAI.');
    fakes.anthropic.script.pushReplies('First answer from Anthropic.', 'Second answer from Anthropic.');
    const r = await run('llm-500');

    expect(r.report.turns).toHaveLength(2);
    expect(r.report.turns[0]).toMatchObject({ providers: { llm: 'anthropic' }, failovers: 1 });
    expectAnswered(r, 0, { user: FIRST, agent: 'First answer from Anthropic.' });
    const second = r.report.turns[1]!;
    expectAnswered(r, 1, { user: SECOND, agent: `Second answer from ${second.providers?.llm === 'openai' ? 'OpenAI' : 'Anthropic'}.` });
    expect(r.report.outcomes.filter((o) => o.modality === 'llm' && !o.ok).map((o) => [o.provider, o.errorClass])).toEqual([['openai', 'transient']]);
    expect(fakes.openai.requests.find((q) => q.route === 'chat')).toMatchObject({ fault: 'status', status: 500 });
  });

  it('Deepgram closes 1011 mid-utterance: OpenAI transcribes the utterance, the turn is answered, the next uses Deepgram again', async () => {
    fakes.reset();
    // The first connection closes after two interim Results, while the caller is still speaking.
    fakes.deepgram.faults.push({ kind: 'midStreamError', chunks: 2, route: 'listen' });
    fakes.deepgram.script.pushTranscripts('lost with the connection', SECOND);
    fakes.openai.script.pushTranscripts(FIRST);
    fakes.openai.script.pushReplies('Sunny and mild.', 'Cats are funny.');
    const r = await run('deepgram-1011');

    expect(r.report.turns).toHaveLength(2);
    expect(r.report.turns[0]).toMatchObject({ providers: { stt: 'openai' } });
    expect(r.report.turns[0]!.failovers).toBeGreaterThanOrEqual(1);
    expectAnswered(r, 0, { user: FIRST, agent: 'Sunny and mild.' });
    expect(r.report.turns[1]).toMatchObject({ providers: { stt: 'deepgram' } });
    expectAnswered(r, 1, { user: SECOND, agent: 'Cats are funny.' });
    expect(r.report.outcomes.find((o) => o.modality === 'stt' && !o.ok)).toMatchObject({ provider: 'deepgram', errorClass: 'transient' });
    const listens = fakes.deepgram.requests.filter((q) => q.route === 'listen');
    expect(listens[0]).toMatchObject({ fault: 'midStreamError' });
    expect(fakes.openai.requests.filter((q) => q.route === 'transcriptions')).toHaveLength(1);
  });

  it('ElevenLabs dies mid-sentence: OpenAI speaks the rest of it without a gap, and the next turn is spoken too', async () => {
    fakes.reset();
    const sentence = 'The weather today is sunny with a light breeze from the west.';
    fakes.deepgram.script.pushTranscripts(FIRST, SECOND);
    fakes.openai.script.pushReplies(sentence, 'Cats are funny.');
    // 25 chunks of 20 ms: half a second of the sentence, then the socket is cut.
    fakes.elevenlabs.faults.push({ kind: 'midStreamError', chunks: 25, route: 'tts' });
    const r = await run('tts-mid-sentence');

    expect(r.report.turns).toHaveLength(2);
    expect(r.report.turns[0]).toMatchObject({ providers: { tts: 'openai' } });
    expect(r.report.turns[0]!.failovers).toBeGreaterThanOrEqual(1);
    expectAnswered(r, 0, { user: FIRST, agent: sentence });
    expectAnswered(r, 1, { user: SECOND, agent: 'Cats are funny.' });

    // OpenAI was asked for the rest of the sentence only: a strict suffix of it, by words.
    const speechRequests = fakes.openai.requests.filter((q) => q.route === 'speech');
    expect(speechRequests.length).toBeGreaterThanOrEqual(1);
    const rest = (JSON.parse(speechRequests[0]!.bodyText!) as { input: string }).input;
    const all = words(sentence);
    expect(words(rest).length).toBeLessThan(all.length);
    expect(all.slice(-words(rest).length)).toEqual(words(rest));

    // On the waveform: ElevenLabs' half second, then OpenAI's rest, as one stretch of speech (no silence longer
    // than the fake voice's own word gaps) lasting as long as both parts together.
    const audio = agentAudioAfter(r, 0);
    const stretches = loudRegions(r.output, 120).filter((g) => g.startMs >= audio.startMs && g.endMs <= audio.endMs);
    expect(stretches).toHaveLength(1);
    const expectedMs = 25 * FRAME_MS + ttsDurationMsFor(rest);
    expect(Math.abs(audio.endMs - audio.startMs - expectedMs)).toBeLessThanOrEqual(4 * FRAME_MS);
    expect(r.report.outcomes.find((o) => o.modality === 'tts' && !o.ok)).toMatchObject({ provider: 'elevenlabs' });
  });

  it('every LLM answers 500 for turn 1: the agent says the apology and keeps listening; turn 2 is answered', async () => {
    fakes.reset();
    fakes.deepgram.script.pushTranscripts(FIRST, SECOND);
    fakes.openai.faults.push({ kind: 'status', status: 500, route: 'chat' });
    fakes.anthropic.faults.push({ kind: 'status', status: 500, route: 'messages' });
    fakes.groq.faults.push({ kind: 'status', status: 500, route: 'chat' });
    fakes.openai.script.pushReplies('Cats are funny.');
    const r = await run('llm-down');

    // The apology, audible after turn 1, as long as the fake voice takes to say it.
    const apology = agentAudioAfter(r, 0);
    expect(Math.abs(apology.endMs - apology.startMs - ttsDurationMsFor(APOLOGY))).toBeLessThanOrEqual(2 * FRAME_MS);
    expect(r.report.transcripts.filter((t) => t.speaker === 'agent').map((t) => t.text)[0]).toBe(APOLOGY);
    expect(r.report.history.map((m) => [m.role, m.text])).toEqual([
      ['user', FIRST],
      ['assistant', APOLOGY],
      ['user', SECOND],
      ['assistant', 'Cats are funny.'],
    ]);
    const failed = r.report.outcomes.filter((o) => o.modality === 'llm' && !o.ok).map((o) => o.provider);
    expect(failed.sort()).toEqual(['anthropic', 'groq', 'openai']);

    expectAnswered(r, 1, { user: SECOND, agent: 'Cats are funny.' });
    expect(r.report.turns.at(-1)).toMatchObject({ providers: { llm: 'openai' } });
  });
});
