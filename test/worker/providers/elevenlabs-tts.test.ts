// The ElevenLabs TTS adapter through the REAL @elevenlabs/elevenlabs-js SDK against the fake ElevenLabs: the shared
// contract, then what is ElevenLabs' own (the voice in the path, the PCM rate in the query, previous_text for prosody,
// a configurable rate, and 422 for a body the vendor refuses).
import { describe, expect, it } from 'vitest';
import { startFakeElevenLabs, TTS_ROUTE } from '../../fakes/elevenlabs.ts';
import { pcmFromText } from '../../fakes/kit/audio.ts';
import {
  DEFAULT_ELEVENLABS_MODEL_ID,
  DEFAULT_ELEVENLABS_VOICE_ID,
  createElevenLabsTts,
  type ElevenLabsTtsOptions,
} from '../../../worker/providers/tts/elevenlabs.ts';
import { concatPcm } from '../../../worker/audio/frames.ts';
import { API_KEY, TEXT, describeTtsContract, synthesize } from './tts-contract.ts';

const contract = describeTtsContract({
  name: 'elevenlabs',
  route: TTS_ROUTE,
  sampleRate: 24_000,
  permanentStatuses: [401, 404, 422],
  transientStatuses: [500, 503],
  startFake: (apiKey) => startFakeElevenLabs({ apiKey }),
  create: (fake, options = {}) => createElevenLabsTts({ apiKey: API_KEY, baseUrl: fake.url, ...options }),
});

const provider = (options: Partial<ElevenLabsTtsOptions> = {}) =>
  createElevenLabsTts({ apiKey: API_KEY, baseUrl: contract.fake().url, ...options });

describe('elevenlabs TTS adapter: its own ways', () => {
  it('asks the default voice and model for pcm_24000, with previous_text for prosody', async () => {
    const { error } = await synthesize(provider(), { text: TEXT, previousText: 'Let me check.' });
    expect(error).toBeUndefined();
    const [request] = contract.speeches();
    expect(request?.path).toBe(`/v1/text-to-speech/${DEFAULT_ELEVENLABS_VOICE_ID}/stream`);
    expect(request?.query.output_format).toBe('pcm_24000');
    expect(request?.headers['xi-api-key']).toBeDefined();
    expect(JSON.parse(request?.bodyText ?? '{}')).toEqual({ text: TEXT, model_id: DEFAULT_ELEVENLABS_MODEL_ID, previous_text: 'Let me check.' });
  });

  it('speaks at the configured rate with the configured voice, model and settings', async () => {
    const tts = provider({ sampleRate: 16_000, voiceId: 'voice-42', modelId: 'eleven_turbo_v2_5', voiceSettings: { stability: 0.4 } });
    expect(tts.sampleRate).toBe(16_000);
    const { chunks } = await synthesize(tts);
    expect(concatPcm(chunks)).toEqual(pcmFromText(TEXT, 16_000));
    const [request] = contract.speeches();
    expect(request?.path).toBe('/v1/text-to-speech/voice-42/stream');
    expect(request?.query.output_format).toBe('pcm_16000');
    expect(JSON.parse(request?.bodyText ?? '{}')).toMatchObject({ model_id: 'eleven_turbo_v2_5', voice_settings: { stability: 0.4 } });
  });
});
