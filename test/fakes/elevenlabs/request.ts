// What a text-to-speech request asks for: the output format (query) and the JSON body, checked the way ElevenLabs'
// FastAPI validation does (422 with a list of issues). The fake speaks raw PCM only.
import type { ValidationIssue } from './errors.ts';

/** Formats ElevenLabs accepts; the fake produces the pcm_* ones and refuses the others with a clear 400. */
const KNOWN_FORMATS = /^(pcm_(8000|16000|22050|24000|44100|48000)|mp3_\d+_\d+|ulaw_8000|alaw_8000|opus_48000_\d+)$/;
const PCM_FORMAT = /^pcm_(\d+)$/;
const DEFAULT_FORMAT = 'mp3_44100_128';

export type OutputFormat =
  | { ok: true; format: string; sampleRate: number }
  | { ok: false; status: 400; message: string }
  | { ok: false; status: 422; issue: ValidationIssue };

export function parseOutputFormat(query: URLSearchParams): OutputFormat {
  const format = query.get('output_format') ?? DEFAULT_FORMAT;
  if (!KNOWN_FORMATS.test(format)) {
    return {
      ok: false,
      status: 422,
      issue: { loc: ['query', 'output_format'], msg: `Input should be a valid output format, got '${format}'`, type: 'enum' },
    };
  }
  const pcm = PCM_FORMAT.exec(format);
  if (!pcm?.[1]) {
    return { ok: false, status: 400, message: `The fake ElevenLabs speaks pcm_* only; ${format} is not produced here.` };
  }
  return { ok: true, format, sampleRate: Number(pcm[1]) };
}

export type SpeechRequest = { text: string; modelId: string | undefined; voiceSettings: Record<string, unknown> | undefined };

/** Bounds of the voice settings ElevenLabs validates. */
const SETTING_BOUNDS: Record<string, [number, number]> = {
  stability: [0, 1],
  similarity_boost: [0, 1],
  style: [0, 1],
  speed: [0.7, 1.2],
};

/** Issues with voice_settings (shared by the HTTP body and the websocket's first message). */
export function voiceSettingsIssues(settings: unknown, loc: Array<string | number>): ValidationIssue[] {
  if (settings === undefined || settings === null) return [];
  if (typeof settings !== 'object' || Array.isArray(settings)) {
    return [{ loc, msg: 'Input should be a valid dictionary', type: 'dict_type' }];
  }
  const issues: ValidationIssue[] = [];
  for (const [name, [min, max]] of Object.entries(SETTING_BOUNDS)) {
    const value = (settings as Record<string, unknown>)[name];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number') issues.push({ loc: [...loc, name], msg: 'Input should be a valid number', type: 'float_type' });
    else if (value < min) issues.push({ loc: [...loc, name], msg: `Input should be greater than or equal to ${min}`, type: 'greater_than_equal' });
    else if (value > max) issues.push({ loc: [...loc, name], msg: `Input should be less than or equal to ${max}`, type: 'less_than_equal' });
  }
  return issues;
}

/** Parses the POST body; a list of issues means 422. */
export function parseSpeechBody(body: Buffer): { ok: true; request: SpeechRequest } | { ok: false; issues: ValidationIssue[] } {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return { ok: false, issues: [{ loc: ['body', 0], msg: 'JSON decode error', type: 'json_invalid' }] };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { ok: false, issues: [{ loc: ['body'], msg: 'Input should be a valid dictionary', type: 'dict_type' }] };
  }
  const { text, model_id: modelId, voice_settings: voiceSettings } = json as Record<string, unknown>;
  const issues: ValidationIssue[] = [];
  if (text === undefined) issues.push({ loc: ['body', 'text'], msg: 'Field required', type: 'missing' });
  else if (typeof text !== 'string') issues.push({ loc: ['body', 'text'], msg: 'Input should be a valid string', type: 'string_type' });
  else if (text.trim() === '') issues.push({ loc: ['body', 'text'], msg: 'String should have at least 1 character', type: 'string_too_short' });
  if (modelId !== undefined && typeof modelId !== 'string') {
    issues.push({ loc: ['body', 'model_id'], msg: 'Input should be a valid string', type: 'string_type' });
  }
  issues.push(...voiceSettingsIssues(voiceSettings, ['body', 'voice_settings']));
  if (issues.length > 0 || typeof text !== 'string') return { ok: false, issues };
  return {
    ok: true,
    request: {
      text,
      modelId: typeof modelId === 'string' ? modelId : undefined,
      voiceSettings: voiceSettings as Record<string, unknown> | undefined,
    },
  };
}
