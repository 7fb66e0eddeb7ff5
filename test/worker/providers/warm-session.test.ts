// The warm-up as a session gets it: assembleConversation opens the first providers' connections before the
// conversation runs, the greeting (the session's first TTS request) goes over the warm ElevenLabs connection, and
// close() leaves nothing running. Assembling also loads the end-of-turn model and logs which int8 kernel it runs on.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startFakeAnthropic } from '../../fakes/anthropic.ts';
import { startFakeDeepgram } from '../../fakes/deepgram.ts';
import { startFakeElevenLabs } from '../../fakes/elevenlabs.ts';
import { startFakeGroq } from '../../fakes/groq.ts';
import { startFakeOpenAI } from '../../fakes/openai.ts';
import type { FakeServer } from '../../fakes/kit/server.ts';
import { waitFor } from '../../support/wait.ts';
import { assembleConversation } from '../../../worker/assemble.ts';
import { hostInt8Kernel } from '../../../worker/end-of-turn/int8-kernel.ts';
import { encodeWav } from '../../../worker/audio/wav.ts';
import { parseAgentConfig } from '../../../worker/config.ts';
import { LocalReport } from '../../../worker/console-report.ts';
import { createFileTransport } from '../../../worker/transport/file.ts';

let fakes: Record<'openai' | 'anthropic' | 'groq' | 'deepgram' | 'elevenlabs', FakeServer>;
let dir: string;

beforeAll(async () => {
  const [openai, anthropic, groq, deepgram, elevenlabs] = await Promise.all([
    startFakeOpenAI(),
    startFakeAnthropic(),
    startFakeGroq(),
    startFakeDeepgram(),
    startFakeElevenLabs(),
  ]);
  fakes = { openai, anthropic, groq, deepgram, elevenlabs };
  dir = await mkdtemp(join(tmpdir(), 'warm-session-'));
});

afterAll(async () => {
  await Promise.all(Object.values(fakes).map((f) => f.close()));
  await rm(dir, { recursive: true, force: true });
});

const silent = () => ({ info() {}, warn() {}, error() {}, debug() {} });

it('a session warms its first providers as it is assembled, and its greeting reuses the warm connection', async () => {
  const env = {
    OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: `${fakes.openai.url}/v1`,
    ANTHROPIC_API_KEY: 'sk-ant-test', ANTHROPIC_BASE_URL: fakes.anthropic.url,
    GROQ_API_KEY: 'gsk-test', GROQ_BASE_URL: fakes.groq.url,
    DEEPGRAM_API_KEY: 'dg-test', DEEPGRAM_BASE_URL: fakes.deepgram.url,
    ELEVENLABS_API_KEY: 'xi-test', ELEVENLABS_BASE_URL: fakes.elevenlabs.url,
  };
  const config = parseAgentConfig({});
  const inputPath = join(dir, 'silence.wav');
  await writeFile(inputPath, encodeWav(new Int16Array(16_000), 16_000));
  const transport = createFileTransport({ inputPath, outputPath: join(dir, 'out.wav'), speed: 20 });
  const order = { stt: config.STT_PROVIDERS, llm: config.LLM_PROVIDERS, tts: config.TTS_PROVIDERS };
  const infos: object[] = [];
  const log = { ...silent(), info: (obj: object) => infos.push(obj) };
  const assembled = await assembleConversation({
    env, config, order, transport, report: new LocalReport(undefined), log, systemPrompt: 'Be brief.', greeting: 'Hello! How can I help?',
  });
  expect(infos).toContainEqual({ event: 'end_of_turn_model_loaded', int8Kernel: hostInt8Kernel() });
  // Nothing has run yet: the connections were opened by assembling the session alone.
  await waitFor('the warm-ups to finish', () =>
    [fakes.openai, fakes.elevenlabs].every((f) => f.requests[0]?.finished) && fakes.deepgram.requests.length === 1 ? true : undefined,
  );
  expect({ openai: fakes.openai.connections, elevenlabs: fakes.elevenlabs.connections, deepgram: fakes.deepgram.connections }).toEqual({ openai: 1, elevenlabs: 1, deepgram: 1 });
  expect(fakes.anthropic.connections + fakes.groq.connections).toBe(0);

  const stop = new AbortController();
  await transport.start();
  const running = assembled.conversation.run(stop.signal);
  await waitFor('the greeting to be synthesised', () => fakes.elevenlabs.requests.find((r) => r.route === 'tts')?.finished);
  expect(fakes.elevenlabs.requests.map((r) => r.route)).toEqual(['models', 'tts']);
  expect(fakes.elevenlabs.connections).toBe(1);

  await assembled.conversation.stop(2_000);
  stop.abort();
  await transport.close();
  await running.catch(() => undefined);
  await assembled.close();
});
