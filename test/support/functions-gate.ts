// A pass-through in front of the functions, where LiveKit and the workers reach them: it keeps a copy of every
// webhook LiveKit delivered (body and signature, to redeliver one exactly as LiveKit would) and can be shut, so
// that the functions are unreachable for a while (each request's connection is cut, as when they are down).
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Socket } from 'node:net';

export interface DeliveredWebhook {
  event: string;
  room: string | undefined;
  body: string;
  headers: IncomingHttpHeaders;
  status: number;
  /** Date.now() when the gate had the whole request (LiveKit's delivery, before the functions saw it). */
  receivedAtMs: number;
  /** Date.now() when the functions' answer came back. */
  atMs: number;
}

export interface FunctionsGate {
  url: string;
  port: number;
  webhooks: DeliveredWebhook[];
  /** Requests that arrived while shut, by path. */
  refused: string[];
  /** Requests passed through, by path. */
  passed: string[];
  shut(): void;
  open(): void;
  /** Sends one delivered webhook again, byte for byte, as LiveKit's retry would. */
  redeliver(webhook: DeliveredWebhook): Promise<number>;
  close(): Promise<void>;
}

/** Listens on `port` and forwards to `target` (http://127.0.0.1:P). */
export async function startFunctionsGate(port: number, target: string): Promise<FunctionsGate> {
  const upstream = new URL(target);
  const webhooks: DeliveredWebhook[] = [];
  const refused: string[] = [];
  const passed: string[] = [];
  const sockets = new Set<Socket>();
  let isShut = false;

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const receivedAtMs = Date.now();
      if (isShut) {
        refused.push(req.url ?? '');
        req.socket.destroy();
        return;
      }
      passed.push(req.url ?? '');
      const body = Buffer.concat(chunks);
      const out = request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          if (req.url === '/v1/webhooks/livekit') {
            const parsed = JSON.parse(body.toString()) as { event?: string; room?: { name?: string } };
            webhooks.push({ event: parsed.event ?? '', room: parsed.room?.name, body: body.toString(), headers: req.headers, status: answer.statusCode ?? 0, receivedAtMs, atMs: Date.now() });
          }
        },
      );
      out.on('error', () => res.destroy());
      out.end(body);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((done) => server.listen(port, '127.0.0.1', done));

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    webhooks,
    refused,
    passed,
    shut() {
      isShut = true;
      // Kept-alive connections would otherwise still carry requests.
      for (const s of sockets) s.destroy();
    },
    open() {
      isShut = false;
    },
    async redeliver(webhook) {
      const res = await fetch(`${target}/v1/webhooks/livekit`, {
        method: 'POST',
        headers: { 'content-type': String(webhook.headers['content-type']), authorization: String(webhook.headers['authorization']) },
        body: webhook.body,
      });
      await res.body?.cancel();
      return res.status;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
