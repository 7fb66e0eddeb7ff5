// Writing a response the way the vendors do (headers, first-token wait, paced chunks, terminator) with the chunk faults
// applied at the right moment. Shared by SSE (chat, messages) and chunked audio (speech, TTS).
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { chunkFaultDue } from './faults.ts';
import type { RequestContext } from './server.ts';

/** Waits `ms`, cut short when `signal` aborts. Resolves true when the full time passed, false when aborted. */
export async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  if (ms <= 0) return true;
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes one chunk and waits until it is handed to the socket, so a fault that destroys the socket right after
 * N chunks still delivers those N chunks (destroy() drops whatever is still buffered). False when the client is gone.
 */
async function write(res: ServerResponse, chunk: string | Buffer, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted || res.destroyed) return false;
  await new Promise<void>((resolve) => {
    const done = () => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    res.write(chunk, done);
  });
  return !signal.aborted;
}

export type StreamPlan = {
  status?: number;
  headers: OutgoingHttpHeaders;
  /** The body, one element per chunk ("chunks" in chunk faults count these). */
  chunks: Iterable<string | Buffer>;
  /** Wait between headers and the first chunk (the profile's time to first token/byte). */
  firstChunkDelayMs: number;
  /** Average pause between chunks; sub-millisecond pauses accumulate instead of rounding up. */
  intervalMs: number;
  /** Written last, unless a fault cut the stream (`data: [DONE]`, `message_stop`…). */
  terminator?: string | Buffer;
  /** The vendor's in-stream error frame for midStreamError; without one (raw audio) the socket is destroyed instead. */
  errorChunk?: string | Buffer;
  /** Told after each chunk was written (a fault or the client leaving stops the count). */
  onChunkSent?: () => void;
};

/**
 * Sends a streamed response and honours the request's fault:
 * delayFirstChunk (headers, then wait), stallAfter / destroyAfter / truncateAfter / midStreamError after N chunks
 * (a count beyond the stream's length fires just before the terminator).
 */
export async function streamResponse(ctx: RequestContext, plan: StreamPlan): Promise<void> {
  const { res, signal, fault } = ctx;
  res.writeHead(plan.status ?? 200, plan.headers);
  res.flushHeaders();
  if (fault?.kind === 'delayFirstChunk' && !(await pause(fault.ms, signal))) return;
  if (!(await pause(plan.firstChunkDelayMs, signal))) return;

  const chunks = [...plan.chunks];
  const progress = { total: chunks.length, sent: 0 };
  ctx.record.chunks = progress;
  const startedAt = performance.now();
  for (let sent = 0; sent <= chunks.length; sent++) {
    const due = chunkFaultDue(fault, sent, sent === chunks.length);
    if (due?.kind === 'stallAfter' && !(await pause(due.ms, signal))) return;
    if (due?.kind === 'destroyAfter') return ctx.destroy();
    if (due?.kind === 'truncateAfter') return void res.end();
    if (due?.kind === 'midStreamError') {
      if (plan.errorChunk === undefined) return ctx.destroy();
      return void res.end(plan.errorChunk);
    }
    const chunk = chunks[sent];
    if (chunk === undefined) break;
    if (!(await write(res, chunk, signal))) return;
    progress.sent += 1;
    plan.onChunkSent?.();
    const lateByMs = performance.now() - startedAt - (sent + 1) * plan.intervalMs;
    if (sent + 1 < chunks.length && lateByMs < -1 && !(await pause(-lateByMs, signal))) return;
  }
  res.end(plan.terminator);
}

/** A whole (non-streamed) body sent as one chunk, so delayFirstChunk and chunk faults with chunks 0 still apply. */
export function sendBody(ctx: RequestContext, status: number, headers: OutgoingHttpHeaders, body: string | Buffer): Promise<void> {
  return streamResponse(ctx, { status, headers, chunks: [body], firstChunkDelayMs: 0, intervalMs: 0 });
}

/** JSON without faults or delays: for error envelopes and the control API. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** The page a load balancer in front of the vendor answers with on 503: HTML, not the vendor's JSON. */
export function sendUnavailablePage(res: ServerResponse, retryAfterS?: number): void {
  const html = '<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>\n';
  const retry = retryAfterS === undefined ? {} : { 'retry-after': String(retryAfterS) };
  res.writeHead(503, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(html), ...retry });
  res.end(html);
}
