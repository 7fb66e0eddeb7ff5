// OpenAI's audio endpoints: transcriptions (multipart upload in, json/text/verbose_json/srt/vtt out) and speech
// (JSON in, raw 24 kHz PCM or WAV streamed out in chunks paced by the latency profile).
import { z } from 'zod';
import { chunkPcmBytes, pcmFromText, pcmToBuffer, wavHeader } from './kit/audio.ts';
import { vendorId } from './kit/ids.ts';
import { audioChunkIntervalMs, ttfbFor } from './kit/profile.ts';
import type { HttpRoute, RequestContext } from './kit/server.ts';
import { pause, sendBody, streamResponse } from './kit/stream.ts';

type InvalidRequest = (ctx: RequestContext, message: string, param: string | null) => void;
type Headers = (requestId: string) => Record<string, string>;

export const SPEECH_SAMPLE_RATE = 24_000;
const BYTES_PER_SECOND_GUESS = 32_000; // 16 kHz s16 mono, for uploads that are not WAV

/** Audio length of an upload: exact for WAV (from its data chunk), a 16 kHz PCM guess otherwise. */
export function uploadDurationS(bytes: Uint8Array): number {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.length >= 44 && view.toString('ascii', 0, 4) === 'RIFF' && view.toString('ascii', 8, 12) === 'WAVE') {
    const byteRate = view.readUInt32LE(28);
    for (let offset = 12; offset + 8 <= view.length; offset += 8 + view.readUInt32LE(offset + 4)) {
      if (view.toString('ascii', offset, offset + 4) === 'data' && byteRate > 0) {
        return Math.min(view.readUInt32LE(offset + 4), view.length - offset - 8) / byteRate;
      }
    }
  }
  return bytes.byteLength / BYTES_PER_SECOND_GUESS;
}

function timestamp(seconds: number, separator: ',' | '.'): string {
  const ms = Math.round(seconds * 1000);
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}${separator}${pad(ms % 1000, 3)}`;
}

function verboseTranscription(text: string, durationS: number, withWords: boolean): Record<string, unknown> {
  const words = text.split(/\s+/).filter(Boolean);
  const perWord = words.length ? durationS / words.length : 0;
  return {
    task: 'transcribe',
    language: 'english',
    duration: durationS,
    text,
    segments: [
      {
        id: 0, seek: 0, start: 0, end: durationS, text: ` ${text}`, tokens: [], temperature: 0,
        avg_logprob: -0.2, compression_ratio: 1, no_speech_prob: 0.01,
      },
    ],
    ...(withWords ? { words: words.map((word, i) => ({ word, start: i * perWord, end: (i + 1) * perWord })) } : {}),
    usage: { type: 'duration', seconds: Math.ceil(durationS) },
  };
}

export function transcriptionsRoute(path: string, invalid: InvalidRequest, headers: Headers): HttpRoute {
  return {
    name: 'transcriptions',
    method: 'POST',
    path,
    async handle(ctx) {
      const contentType = ctx.req.headers['content-type'] ?? '';
      if (!contentType.startsWith('multipart/form-data')) {
        return invalid(ctx, "Invalid Content-Type header (expected multipart/form-data)", null);
      }
      let form: FormData;
      try {
        form = await new Request(ctx.url, { method: 'POST', headers: { 'content-type': contentType }, body: new Uint8Array(ctx.body) }).formData();
      } catch {
        return invalid(ctx, 'Could not parse multipart form', null);
      }
      ctx.record.fields = Object.fromEntries(
        [...form.entries()].map(([name, value]) => [name, typeof value === 'string' ? value : `${value.name} (${value.size} bytes)`]),
      );
      const file = form.get('file');
      const model = form.get('model');
      if (!(file instanceof File) || file.size === 0) return invalid(ctx, "Missing required parameter: 'file'.", 'file');
      if (typeof model !== 'string' || model === '') return invalid(ctx, 'you must provide a model parameter', 'model');
      const format = String(form.get('response_format') ?? 'json');
      const durationS = uploadDurationS(new Uint8Array(await file.arrayBuffer()));
      const text = ctx.script.nextTranscript();
      const base = { ...headers(vendorId('req_', 16)) };
      if (!(await pause(ttfbFor(ctx.profile, ctx.requestIndex), ctx.signal))) return;

      const json = (body: unknown) => sendBody(ctx, 200, { ...base, 'content-type': 'application/json' }, JSON.stringify(body));
      const plain = (body: string) => sendBody(ctx, 200, { ...base, 'content-type': 'text/plain; charset=utf-8' }, body);
      switch (format) {
        case 'json':
          return json({ text, usage: { type: 'duration', seconds: Math.ceil(durationS) } });
        case 'verbose_json': {
          const granularities = form.getAll('timestamp_granularities[]').map(String);
          return json(verboseTranscription(text, durationS, granularities.includes('word')));
        }
        case 'text':
          return plain(text);
        case 'srt':
          return plain(`1\n${timestamp(0, ',')} --> ${timestamp(durationS, ',')}\n${text}\n\n`);
        case 'vtt':
          return plain(`WEBVTT\n\n${timestamp(0, '.')} --> ${timestamp(durationS, '.')}\n${text}\n\n`);
        default:
          return invalid(ctx, `Invalid value for 'response_format': ${format}`, 'response_format');
      }
    },
  };
}

const speechRequest = z.object({
  model: z.string().min(1),
  input: z.string().min(1).max(4096),
  voice: z.union([z.string().min(1), z.object({ id: z.string().min(1) })]),
  response_format: z.enum(['mp3', 'opus', 'aac', 'flac', 'wav', 'pcm']).default('mp3'),
  speed: z.number().min(0.25).max(4).optional(),
  instructions: z.string().optional(),
  stream_format: z.literal('audio').optional(),
});

export function speechRoute(path: string, invalid: InvalidRequest, headers: Headers): HttpRoute {
  return {
    name: 'speech',
    method: 'POST',
    path,
    async handle(ctx) {
      let parsed;
      try {
        parsed = speechRequest.safeParse(JSON.parse(ctx.body.toString('utf8')));
      } catch {
        return invalid(ctx, 'We could not parse the JSON body of your request.', null);
      }
      if (!parsed.success) {
        const param = parsed.error.issues[0]?.path.join('.') || null;
        return invalid(ctx, `Invalid value for '${param ?? 'body'}': ${parsed.error.issues[0]?.message ?? ''}`, param);
      }
      const { input, response_format: format } = parsed.data;
      if (format !== 'pcm' && format !== 'wav') {
        return invalid(ctx, `The fake speaks only response_format pcm or wav, not ${format}.`, 'response_format');
      }
      const pcm = pcmFromText(input, SPEECH_SAMPLE_RATE);
      const chunks = chunkPcmBytes(pcmToBuffer(pcm), SPEECH_SAMPLE_RATE, ctx.profile.chunkMs);
      if (format === 'wav') chunks.unshift(Buffer.concat([wavHeader(pcm.length * 2, SPEECH_SAMPLE_RATE), chunks.shift() ?? Buffer.alloc(0)]));
      await streamResponse(ctx, {
        headers: { ...headers(vendorId('req_', 16)), 'content-type': format === 'pcm' ? 'audio/pcm' : 'audio/wav' },
        chunks,
        firstChunkDelayMs: ttfbFor(ctx.profile, ctx.requestIndex),
        intervalMs: audioChunkIntervalMs(ctx.profile),
      });
    },
  };
}
