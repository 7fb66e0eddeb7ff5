// The provider registry from real environment maps: which providers make it into each chain and in what order,
// the one log line per vendor left out, models and hosts wired through (proved by real requests to the fakes),
// and configurations that must fail naming the culprit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../worker/log.ts';
import { DEFAULT_MODELS, ProviderConfigError, buildProviders } from '../../../worker/providers/registry.ts';
import type { ProviderChains } from '../../../worker/providers/registry.ts';
import type { LlmProvider, TtsProvider } from '../../../worker/providers/types.ts';
import type { DeepgramStt } from '../../../worker/providers/stt/deepgram.ts';
import { startFakeAnthropic } from '../../fakes/anthropic.ts';
import { startFakeElevenLabs } from '../../fakes/elevenlabs.ts';
import { startFakeGroq } from '../../fakes/groq.ts';
import { defaultReply } from '../../fakes/kit/script.ts';
import type { FakeServer } from '../../fakes/kit/server.ts';
import { startFakeOpenAI } from '../../fakes/openai.ts';

const DEFAULT_ORDER = { stt: ['deepgram', 'openai'], llm: ['openai', 'anthropic', 'groq'], tts: ['elevenlabs', 'openai'] };

const KEYS = {
  OPENAI_API_KEY: 'sk-openai-secret-1',
  ANTHROPIC_API_KEY: 'sk-ant-secret-2',
  GROQ_API_KEY: 'gsk-secret-3',
  DEEPGRAM_API_KEY: 'dg-secret-4',
  ELEVENLABS_API_KEY: 'el-secret-5',
};

type LogLine = { level: string; msg: string; [field: string]: unknown };

/** A real pino logger whose JSON lines are kept for the test to read. */
function capturingLogger() {
  const raw: string[] = [];
  const log = createLogger({ level: 'debug', destination: { write: (line: string) => void raw.push(line) } });
  return { log, raw, lines: () => raw.map((line) => JSON.parse(line) as LogLine) };
}

const names = (chains: ProviderChains) => ({
  stt: chains.stt.map((l) => l.name),
  llm: chains.llm.map((l) => l.name),
  tts: chains.tts.map((l) => l.name),
});

async function closeAll(chains: ProviderChains): Promise<void> {
  for (const link of [...chains.stt, ...chains.tts]) await link.provider.close?.();
}

describe('provider registry: which providers, in which order', () => {
  it('builds every chain in the given order when every key is set, with the default models, logging nothing', async () => {
    const capture = capturingLogger();
    const chains = buildProviders(KEYS, DEFAULT_ORDER, capture.log);
    expect(names(chains)).toEqual(DEFAULT_ORDER);
    expect(chains.llm.map((l) => [l.provider.name, l.provider.modality, l.provider.model])).toEqual([
      ['openai', 'llm', DEFAULT_MODELS.OPENAI_LLM_MODEL],
      ['anthropic', 'llm', DEFAULT_MODELS.ANTHROPIC_MODEL],
      ['groq', 'llm', DEFAULT_MODELS.GROQ_MODEL],
    ]);
    expect(chains.stt.map((l) => [l.provider.name, l.provider.modality])).toEqual([['deepgram', 'stt'], ['openai', 'stt']]);
    expect(chains.tts.map((l) => [l.provider.name, l.provider.modality])).toEqual([['elevenlabs', 'tts'], ['openai', 'tts']]);
    expect(capture.raw).toEqual([]);
    await closeAll(chains);
  });

  it('follows a ranked order and reads models from the environment', () => {
    const env = { ...KEYS, GROQ_MODEL: 'llama-custom', ANTHROPIC_MODEL: 'claude-custom', OPENAI_LLM_MODEL: '  ' };
    const chains = buildProviders(env, { stt: ['openai'], llm: ['groq', 'anthropic', 'openai'], tts: ['openai', 'elevenlabs'] }, capturingLogger().log);
    expect(names(chains)).toEqual({ stt: ['openai'], llm: ['groq', 'anthropic', 'openai'], tts: ['openai', 'elevenlabs'] });
    // A blank setting is no setting: the default applies.
    expect(chains.llm.map((l) => l.provider.model)).toEqual(['llama-custom', 'claude-custom', DEFAULT_MODELS.OPENAI_LLM_MODEL]);
  });

  it('leaves out a vendor whose key is missing or empty, with one info line naming it and no secret', async () => {
    const capture = capturingLogger();
    const env = { ANTHROPIC_API_KEY: KEYS.ANTHROPIC_API_KEY, DEEPGRAM_API_KEY: KEYS.DEEPGRAM_API_KEY, ELEVENLABS_API_KEY: KEYS.ELEVENLABS_API_KEY, OPENAI_API_KEY: '', GROQ_API_KEY: '   ' };
    const chains = buildProviders(env, DEFAULT_ORDER, capture.log);
    expect(names(chains)).toEqual({ stt: ['deepgram'], llm: ['anthropic'], tts: ['elevenlabs'] });
    const lines = capture.lines();
    expect(lines).toHaveLength(2);
    expect(lines.map((l) => [l.level, l['provider'], l['variable'], l['chains']])).toEqual([
      ['info', 'openai', 'OPENAI_API_KEY', ['stt', 'llm', 'tts']],
      ['info', 'groq', 'GROQ_API_KEY', ['llm']],
    ]);
    expect(lines[0]?.msg).toContain('openai');
    for (const secret of Object.values(KEYS)) expect(capture.raw.join('')).not.toContain(secret);
    await closeAll(chains);
  });

  it('returns empty chains when no key is set at all, and says clearly that nothing can answer', () => {
    const capture = capturingLogger();
    const chains = buildProviders({}, DEFAULT_ORDER, capture.log);
    expect(names(chains)).toEqual({ stt: [], llm: [], tts: [] });
    const warnings = capture.lines().filter((l) => l.level === 'warn');
    expect(warnings.map((l) => l['modality'])).toEqual(['stt', 'llm', 'tts']);
    const llmWarning = warnings.find((l) => l['modality'] === 'llm');
    expect(llmWarning?.msg).toMatch(/no llm provider available/);
    expect(llmWarning?.msg).toContain('OPENAI_API_KEY or ANTHROPIC_API_KEY or GROQ_API_KEY');
    // Still one info line per vendor, however many chains it was named in.
    expect(capture.lines().filter((l) => l.level === 'info').map((l) => l['provider'])).toEqual(['deepgram', 'openai', 'anthropic', 'groq', 'elevenlabs']);
  });
});

describe('provider registry: configurations that must not start', () => {
  it('rejects an unknown provider name, naming it', () => {
    const order = { ...DEFAULT_ORDER, llm: ['openai', 'gemini'] };
    expect(() => buildProviders(KEYS, order, capturingLogger().log)).toThrow(ProviderConfigError);
    expect(() => buildProviders(KEYS, order, capturingLogger().log)).toThrow(/unknown llm provider "gemini"/);
    // A name valid in another modality is still unknown in this one.
    expect(() => buildProviders(KEYS, { ...DEFAULT_ORDER, tts: ['deepgram'] }, capturingLogger().log)).toThrow(/unknown tts provider "deepgram"/);
  });

  it('rejects a provider named twice in one order', () => {
    expect(() => buildProviders(KEYS, { ...DEFAULT_ORDER, stt: ['deepgram', 'deepgram'] }, capturingLogger().log)).toThrow(/"deepgram" twice/);
  });

  it.each([
    ['OPENAI_BASE_URL', 'not a url'],
    ['ANTHROPIC_BASE_URL', 'ftp://127.0.0.1:21'],
    ['DEEPGRAM_BASE_URL', '127.0.0.1:8904'],
  ])('rejects a malformed %s, naming the variable', (variable, value) => {
    expect(() => buildProviders({ ...KEYS, [variable]: value }, DEFAULT_ORDER, capturingLogger().log)).toThrow(new RegExp(`${variable}: must be an http`));
  });

  it('reads DEEPGRAM_FLUSH (auto by default, finalize, close-stream) and rejects anything else, naming the variable', () => {
    const flushOf = (value: string | undefined) => {
      const chains = buildProviders({ ...KEYS, ...(value === undefined ? {} : { DEEPGRAM_FLUSH: value }) }, DEFAULT_ORDER, capturingLogger().log);
      const deepgram = chains.stt.find((link) => link.provider.name === 'deepgram')!.provider as DeepgramStt;
      return deepgram.flushingWith;
    };
    // auto starts with Finalize (and turns to CloseStream only once one goes unanswered: deepgram-stt.test.ts).
    expect([flushOf(undefined), flushOf(''), flushOf('auto'), flushOf('finalize'), flushOf('close-stream')]).toEqual(['finalize', 'finalize', 'finalize', 'finalize', 'closeStream']);
    expect(() => flushOf('closestream')).toThrow(/DEEPGRAM_FLUSH: must be auto, finalize or close-stream/);
  });

  it('does not echo key values in its errors', () => {
    let message = '';
    try {
      buildProviders({ ...KEYS, GROQ_BASE_URL: 'nope' }, DEFAULT_ORDER, capturingLogger().log);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('GROQ_BASE_URL');
    for (const secret of Object.values(KEYS)) expect(message).not.toContain(secret);
  });
});

describe('provider registry: hosts and keys reach the vendors', () => {
  let fakes: { openai: FakeServer; anthropic: FakeServer; groq: FakeServer; elevenlabs: FakeServer };
  let chains: ProviderChains;
  beforeAll(async () => {
    fakes = {
      openai: await startFakeOpenAI({ apiKey: KEYS.OPENAI_API_KEY }),
      anthropic: await startFakeAnthropic({ apiKey: KEYS.ANTHROPIC_API_KEY }),
      groq: await startFakeGroq({ apiKey: KEYS.GROQ_API_KEY }),
      elevenlabs: await startFakeElevenLabs({ apiKey: KEYS.ELEVENLABS_API_KEY }),
    };
    const env = {
      ...KEYS,
      OPENAI_BASE_URL: `${fakes.openai.url}/v1`,
      ANTHROPIC_BASE_URL: fakes.anthropic.url,
      GROQ_BASE_URL: fakes.groq.url,
      ELEVENLABS_BASE_URL: fakes.elevenlabs.url,
      OPENAI_LLM_MODEL: 'gpt-from-env',
      ELEVENLABS_VOICE_ID: 'voice-from-env',
    };
    chains = buildProviders(env, DEFAULT_ORDER, capturingLogger().log);
  });
  afterAll(async () => {
    await closeAll(chains);
    await Promise.all(Object.values(fakes).map((f) => f.close()));
  });

  async function answer(provider: LlmProvider): Promise<string> {
    let text = '';
    for await (const event of provider.stream({ system: '', messages: [{ role: 'user', text: 'ping' }] }, AbortSignal.timeout(10_000))) {
      if (event.type === 'text') text += event.text;
    }
    return text;
  }

  async function samples(provider: TtsProvider): Promise<number> {
    let count = 0;
    for await (const pcm of provider.synthesize({ text: 'Hello.' }, AbortSignal.timeout(10_000))) count += pcm.length;
    return count;
  }

  it('every LLM answers from its own fake, with its own key and the configured model', async () => {
    for (const link of chains.llm) expect(await answer(link.provider)).toBe(defaultReply('ping'));
    for (const name of ['openai', 'anthropic', 'groq'] as const) expect(fakes[name].requests).toHaveLength(1);
    expect(JSON.parse(fakes.openai.requests[0]?.bodyText ?? '{}').model).toBe('gpt-from-env');
    expect(JSON.parse(fakes.groq.requests[0]?.bodyText ?? '{}').model).toBe(DEFAULT_MODELS.GROQ_MODEL);
  });

  it('every TTS speaks from its own fake, ElevenLabs with the configured voice', async () => {
    for (const link of chains.tts) expect(await samples(link.provider)).toBeGreaterThan(0);
    expect(fakes.elevenlabs.requests[0]?.path).toBe('/v1/text-to-speech/voice-from-env/stream');
    expect(fakes.openai.requests.find((r) => r.route === 'speech')).toBeDefined();
  });
});
