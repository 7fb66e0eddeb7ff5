// Drives the fake Deepgram through the REAL @deepgram/sdk 5.x live client, and makes speech-like test audio.
import { DeepgramClient } from '@deepgram/sdk';
import { waitFor } from '../support/wait.ts';

export const SAMPLE_RATE = 16_000;

/** A 440 Hz tone: loud enough for any energy VAD, the stand-in for a person speaking. */
export function tone(ms: number, sampleRate = SAMPLE_RATE): Buffer {
  const samples = Math.floor((ms * sampleRate) / 1000);
  const bytes = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) bytes.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / sampleRate)), i * 2);
  return bytes;
}

export function silence(ms: number, sampleRate = SAMPLE_RATE): Buffer {
  return Buffer.alloc(Math.floor((ms * sampleRate) / 1000) * 2);
}

export type ListenMessage = { type: string; [field: string]: unknown };
export type ResultsMessage = ListenMessage & {
  type: 'Results';
  start: number;
  duration: number;
  is_final: boolean;
  speech_final: boolean;
  from_finalize: boolean;
  channel: { alternatives: Array<{ transcript: string; words: Array<{ word: string; start: number; end: number }> }> };
  metadata: { request_id: string };
};

export type ListenCall = {
  socket: Awaited<ReturnType<DeepgramClient['listen']['v1']['connect']>>;
  messages: ListenMessage[];
  errors: Error[];
  /** Resolves with the close code and reason the SDK reports. */
  closed: Promise<{ code: number; reason: string }>;
  results(): ResultsMessage[];
  transcripts(filter?: (r: ResultsMessage) => boolean): string[];
  /** Sends audio in 20 ms frames, as a microphone would (only faster). */
  sendAudio(audio: Buffer): void;
  /** Waits (bounded) until a message matches. */
  waitForMessage(what: string, match: (m: ListenMessage) => boolean, timeoutMs?: number): Promise<ListenMessage>;
  waitForClose(timeoutMs?: number): Promise<{ code: number; reason: string }>;
};

export const LIVE_OPTIONS = {
  model: 'nova-3',
  encoding: 'linear16',
  sample_rate: SAMPLE_RATE,
  channels: 1,
  interim_results: 'true',
  endpointing: 300,
  utterance_end_ms: 1000,
  vad_events: 'true',
  smart_format: 'true',
} as const;

type ConnectArgs = Parameters<DeepgramClient['listen']['v1']['connect']>[0];

/** Connects the way a provider adapter would (no SDK reconnects) and records everything the SDK surfaces. */
export async function connectListen(
  baseUrl: string,
  args: Partial<ConnectArgs> = {},
  apiKey = 'dg-test-key',
): Promise<ListenCall> {
  const client = new DeepgramClient({ apiKey, baseUrl });
  const socket = await client.listen.v1.connect({ ...LIVE_OPTIONS, reconnectAttempts: 0, ...args });
  const messages: ListenMessage[] = [];
  const errors: Error[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (event) => resolve({ code: event.code, reason: event.reason })),
  );
  socket.on('message', (message) => messages.push(message as unknown as ListenMessage));
  socket.on('error', (error) => errors.push(error));
  socket.connect();
  const results = () => messages.filter((m): m is ResultsMessage => m.type === 'Results');
  return {
    socket,
    messages,
    errors,
    closed,
    results,
    transcripts: (filter = () => true) => results().filter(filter).map((r) => r.channel.alternatives[0]?.transcript ?? ''),
    sendAudio(audio) {
      const frameBytes = (SAMPLE_RATE / 50) * 2;
      for (let offset = 0; offset < audio.length; offset += frameBytes) socket.sendMedia(audio.subarray(offset, offset + frameBytes));
    },
    waitForMessage: (what, match, timeoutMs = 5_000) => waitFor(what, () => messages.find(match), timeoutMs),
    waitForClose: (timeoutMs = 5_000) =>
      Promise.race([
        closed,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`socket still open after ${timeoutMs} ms`)), timeoutMs).unref(),
        ),
      ]),
  };
}

/** Opens a connection and waits (bounded) for the open event. */
export async function openListen(baseUrl: string, args: Partial<ConnectArgs> = {}, apiKey?: string): Promise<ListenCall> {
  const call = await connectListen(baseUrl, args, apiKey);
  await Promise.race([
    call.socket.waitForOpen(),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('listen socket did not open')), 5_000).unref()),
  ]);
  return call;
}
