// The OpenAI speech adapter through the REAL openai SDK against the fake OpenAI: the shared contract, then what is
// OpenAI's own (the request body: model, voice, raw pcm, no previous text, and the configurable style and speed).
import { describe, expect, it } from 'vitest';
import { startFakeOpenAI } from '../../fakes/openai.ts';
import { createOpenAiTts, type OpenAiTtsOptions } from '../../../worker/providers/tts/openai.ts';
import { API_KEY, TEXT, describeTtsContract, synthesize } from './tts-contract.ts';

const contract = describeTtsContract({
  name: 'openai',
  route: 'speech',
  sampleRate: 24_000,
  permanentStatuses: [401, 404],
  transientStatuses: [500, 503],
  startFake: (apiKey) => startFakeOpenAI({ apiKey }),
  create: (fake, options = {}) =>
    createOpenAiTts({ ...options, apiKey: options.apiKey ?? API_KEY, baseUrl: `${options.baseUrl ?? fake.url}/v1` }),
});

const provider = (options: Partial<OpenAiTtsOptions> = {}) =>
  createOpenAiTts({ apiKey: API_KEY, baseUrl: `${contract.fake().url}/v1`, ...options });
const bodyOf = (index: number) => JSON.parse(contract.speeches()[index]?.bodyText ?? '{}');

describe('openai TTS adapter: its own ways', () => {
  it('asks for raw pcm from the default model and voice, leaving out the previous text it has no field for', async () => {
    const { error } = await synthesize(provider(), { text: TEXT, previousText: 'Hi.' });
    expect(error).toBeUndefined();
    expect(bodyOf(0)).toEqual({ model: 'gpt-4o-mini-tts', voice: 'alloy', input: TEXT, response_format: 'pcm' });
  });

  it('sends the configured model, voice, instructions and speed', async () => {
    await synthesize(provider({ model: 'tts-1', voice: 'nova', instructions: 'Warm.', speed: 1.1 }));
    expect(bodyOf(0)).toMatchObject({ model: 'tts-1', voice: 'nova', instructions: 'Warm.', speed: 1.1 });
  });
});
