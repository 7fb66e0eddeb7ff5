// A bare `ws` client for ElevenLabs stream-input and multi-stream-input (no SDK wraps them), recording every message,
// with bounded waits.
import { WebSocket } from 'ws';
import { waitFor } from '../support/wait.ts';

export type StreamInputMessage = Record<string, unknown>;

export type StreamInputCall = {
  ws: WebSocket;
  messages: StreamInputMessage[];
  send(message: Record<string, unknown>): void;
  waitFor(what: string, match: (m: StreamInputMessage) => boolean): Promise<StreamInputMessage>;
  /** The close code and reason; rejects if the socket is still open after 5 s. */
  closed: Promise<{ code: number; reason: string }>;
};

export async function openStreamInput(
  baseUrl: string,
  voice: string,
  options: { headers?: Record<string, string>; query?: string; endpoint?: 'stream-input' | 'multi-stream-input' } = {},
): Promise<StreamInputCall> {
  const query = options.query ?? 'model_id=eleven_flash_v2_5&output_format=pcm_24000';
  const url = `${baseUrl.replace(/^http/, 'ws')}/v1/text-to-speech/${voice}/${options.endpoint ?? 'stream-input'}?${query}`;
  const ws = new WebSocket(url, { headers: options.headers ?? {} });
  const messages: StreamInputMessage[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(String(data)) as StreamInputMessage));
  const closed = new Promise<{ code: number; reason: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${options.endpoint ?? 'stream-input'} socket still open after 5 s`)), 5_000).unref();
    ws.once('close', (code, reason) => {
      clearTimeout(timer);
      resolve({ code, reason: reason.toString('utf8') });
    });
  });
  closed.catch(() => undefined); // awaited by the tests that care; the others must not see an unhandled rejection
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws,
    messages,
    send: (message) => ws.send(JSON.stringify(message)),
    waitFor: (what, match) => waitFor(what, () => messages.find(match), 5_000),
    closed,
  };
}
