// The base every fake vendor stands on: node:http on 127.0.0.1, request recording, auth, generic faults, the latency
// profile, the script, and a control API under /__fake/ on the same port so other processes can drive the fake.
import http from 'node:http';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { FaultQueue } from './faults.ts';
import type { Fault, FaultKind } from './faults.ts';
import { DEFAULT_PROFILE, resolveProfile } from './profile.ts';
import type { LatencyProfile, ProfileInput } from './profile.ts';
import { Script } from './script.ts';
import { pause, sendJson, sendUnavailablePage } from './stream.ts';
import { handleControl } from './control.ts';

/** One request the fake received (control-API calls are not recorded). */
export type RecordedRequest = {
  id: number;
  /** Name of the matched route ('chat', 'speech'…), undefined when no route matched. */
  route: string | undefined;
  method: string;
  path: string;
  query: Record<string, string>;
  /** Request headers; keys (authorization, x-api-key, xi-api-key, sec-websocket-protocol) masked to ***last4. */
  headers: http.IncomingHttpHeaders;
  /** The body as text when it is textual (JSON, text, form-urlencoded); undefined for binary and multipart. */
  bodyText: string | undefined;
  bodyBytes: number;
  /** Multipart form fields, set by routes that parse them (a file shows as "<filename> (<size> bytes)"). */
  fields?: Record<string, string>;
  /** The fault applied to this request, if any. */
  fault: FaultKind | undefined;
  /** Status sent, known once the response finished or the connection closed (websocket routes set it themselves). */
  status: number | undefined;
  /** The client closed the connection before the response ended (cancellation reached the wire). */
  clientAborted: boolean;
  /** The fake itself cut the connection (reset / destroyAfter / midStreamError on raw audio). */
  serverDestroyed: boolean;
  /** The response was sent completely. */
  finished: boolean;
  receivedAtMs: number;
  /** Which TCP connection it came on: 1 for the fake's first accepted connection, then 2, 3… (never reset). */
  connection: number;
  /** Streamed responses: the body's chunks, and how many were written before it ended (or was cut). */
  chunks?: { total: number; sent: number };
};

/** What a route handler gets. `fault` is the fault taken for this request (generic ones are already applied). */
export type RequestContext = {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  body: Buffer;
  record: RecordedRequest;
  fault: Fault | undefined;
  profile: LatencyProfile;
  script: Script;
  /** The fake's fault queue (websocket routes register their open streams with it, see FaultQueue.injectOpen). */
  faults: FaultQueue;
  /** 0 for the first request the fake served, then 1, 2… (drives the profile's deterministic jitter). */
  requestIndex: number;
  /** Aborted when the client goes away: pass it to every wait. */
  signal: AbortSignal;
  /** Destroys the connection on purpose (recorded as serverDestroyed, not clientAborted). */
  destroy(): void;
};

export type HttpRoute = {
  name: string;
  method: string;
  /** Exact pathname, or a pattern (named groups are handy for ids in the path). */
  path: string | RegExp;
  handle(ctx: RequestContext): void | Promise<void>;
};

/** What a websocket route gets: the raw upgrade. Auth is the route's job (vendors put keys in odd places). */
export type UpgradeContext = Omit<RequestContext, 'res' | 'body'> & { socket: Duplex; head: Buffer };

export type UpgradeRoute = {
  name: string;
  path: string | RegExp;
  /** Called after generic faults (reset, delayHeaders); rejectHandshake / status / stream faults arrive in ctx.fault. */
  handle(ctx: UpgradeContext): void | Promise<void>;
};

export type FakeServerOptions = {
  /** Vendor name, shown by GET /__fake. */
  name: string;
  /** Fixed port; 0 or absent picks a free one. */
  port?: number;
  routes: HttpRoute[];
  upgrades?: UpgradeRoute[];
  /** True when the request carries an acceptable key (HTTP routes only). */
  authorize(req: IncomingMessage): boolean;
  /** The vendor's 401 answer. */
  unauthorized(ctx: RequestContext): void;
  /** The vendor's error answer for a `status` fault (503 is answered with an HTML page before this is called). */
  errorStatus(ctx: RequestContext, status: number, retryAfterS: number | undefined): void;
  profile?: ProfileInput;
  /** Called by reset() and POST /__fake/reset, for vendor state beyond faults, script, profile and requests. */
  onReset?(): void;
  /** Called by close(), before sockets are destroyed. */
  onClose?(): void | Promise<void>;
};

/** The in-process handle of a running fake. */
export type FakeServer = {
  name: string;
  /** http://127.0.0.1:<port> (no path: each vendor file documents the base URL its SDK wants). */
  url: string;
  port: number;
  faults: FaultQueue;
  script: Script;
  readonly profile: LatencyProfile;
  setProfile(input: ProfileInput): void;
  /** Every request so far, oldest first (a live array). */
  requests: RecordedRequest[];
  /** TCP connections accepted so far (control-API calls included): how a test sees that a warm connection was reused. */
  readonly connections: number;
  /** Clears faults, script and requests, and restores the starting profile. */
  reset(): void;
  /** Stops listening and destroys every open socket, stalled streams included. */
  close(): Promise<void>;
};

const TEXT_BODY = /^(application\/(json|x-www-form-urlencoded)|text\/)/i;

const SECRET_HEADERS = ['authorization', 'x-api-key', 'xi-api-key', 'sec-websocket-protocol'];

/** Headers as recorded: keys masked to their last 4 characters, so GET /__fake/requests never shows a whole secret. */
function redactHeaders(headers: http.IncomingHttpHeaders): http.IncomingHttpHeaders {
  const copy = { ...headers };
  for (const name of SECRET_HEADERS) {
    const value = copy[name];
    if (typeof value === 'string') copy[name] = value.replace(/[^\s,]{5,}$/, (key) => `***${key.slice(-4)}`);
  }
  return copy;
}

function matches(path: string | RegExp, pathname: string): boolean {
  return typeof path === 'string' ? path === pathname : path.test(pathname);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

/** A raw HTTP response on a socket that asked to upgrade (a refused websocket handshake). */
export function rejectUpgrade(socket: Duplex, status: number, headers: OutgoingHttpHeaders, body: string): void {
  const lines = [`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}`];
  const all = { ...headers, 'content-length': Buffer.byteLength(body), connection: 'close' };
  for (const [name, value] of Object.entries(all)) if (value !== undefined) lines.push(`${name}: ${String(value)}`);
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

/** A port where nothing listens, for "connection refused" (bound, read, released). */
export async function closedPort(): Promise<number> {
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

export async function startFakeHttpServer(options: FakeServerOptions): Promise<FakeServer> {
  const startingProfile = options.profile ? resolveProfile(options.profile) : { ...DEFAULT_PROFILE };
  const sockets = new Set<Socket | Duplex>();
  let nextId = 0;
  let requestIndex = 0;

  const fake: FakeServer = {
    name: options.name,
    url: '',
    port: 0,
    faults: new FaultQueue(),
    script: new Script(),
    profile: startingProfile,
    setProfile(input) {
      (fake as { profile: LatencyProfile }).profile = resolveProfile(input, fake.profile);
    },
    requests: [],
    connections: 0,
    reset() {
      (fake as { connections: number }).connections = 0;
      fake.faults.clear();
      fake.script.reset();
      fake.requests.length = 0;
      (fake as { profile: LatencyProfile }).profile = { ...startingProfile };
      options.onReset?.();
    },
    async close() {
      await options.onClose?.();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      await closed;
    },
  };

  const connectionOrdinals = new WeakMap<object, number>();
  let acceptedConnections = 0;

  function record(req: IncomingMessage, url: URL, route: string | undefined): RecordedRequest {
    const entry: RecordedRequest = {
      id: nextId++,
      route,
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: redactHeaders(req.headers),
      bodyText: undefined,
      bodyBytes: 0,
      fault: undefined,
      status: undefined,
      clientAborted: false,
      serverDestroyed: false,
      finished: false,
      receivedAtMs: Date.now(),
      connection: connectionOrdinals.get(req.socket) ?? 0,
    };
    fake.requests.push(entry);
    return entry;
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/__fake' || url.pathname.startsWith('/__fake/')) {
      return handleControl(fake, req, res, url, await readBody(req));
    }
    const route = options.routes.find((r) => r.method === req.method && matches(r.path, url.pathname));
    const entry = record(req, url, route?.name);
    const aborts = new AbortController();
    res.on('finish', () => {
      entry.finished = true;
      entry.status = res.statusCode;
    });
    res.on('close', () => {
      if (res.headersSent) entry.status = res.statusCode;
      if (!res.writableFinished && !entry.serverDestroyed) entry.clientAborted = true;
      aborts.abort();
    });
    const body = await readBody(req);
    entry.bodyBytes = body.length;
    if (TEXT_BODY.test(req.headers['content-type'] ?? '')) entry.bodyText = body.toString('utf8');
    const ctx: RequestContext = {
      req, res, url, body, record: entry, fault: undefined, profile: fake.profile, script: fake.script, faults: fake.faults,
      requestIndex: 0, signal: aborts.signal,
      destroy() {
        entry.serverDestroyed = true;
        req.socket.destroy();
      },
    };

    if (!route) return sendJson(res, 404, { error: { message: `The fake ${options.name} has no route ${req.method} ${url.pathname}` } });
    if (!options.authorize(req)) return options.unauthorized(ctx);
    ctx.requestIndex = requestIndex++;
    ctx.fault = fake.faults.take(route.name);
    entry.fault = ctx.fault?.kind;
    if (ctx.fault?.kind === 'reset') return ctx.destroy();
    if (ctx.fault?.kind === 'delayHeaders' && !(await pause(ctx.fault.ms, ctx.signal))) return;
    if (ctx.fault?.kind === 'status') {
      if (ctx.fault.status === 503) return sendUnavailablePage(res, ctx.fault.retryAfterS);
      return options.errorStatus(ctx, ctx.fault.status, ctx.fault.retryAfterS);
    }
    await route.handle(ctx);
  }

  async function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const route = options.upgrades?.find((r) => matches(r.path, url.pathname));
    const entry = record(req, url, route?.name);
    if (!route) return rejectUpgrade(socket, 404, { 'content-type': 'text/plain' }, 'no such websocket route');
    const aborts = new AbortController();
    socket.on('close', () => aborts.abort());
    const ctx: UpgradeContext = {
      req, socket, head, url, record: entry, fault: undefined, profile: fake.profile, script: fake.script, faults: fake.faults,
      requestIndex: requestIndex++, signal: aborts.signal,
      destroy() {
        entry.serverDestroyed = true;
        socket.destroy();
      },
    };
    ctx.fault = fake.faults.take(route.name);
    entry.fault = ctx.fault?.kind;
    if (ctx.fault?.kind === 'reset') return ctx.destroy();
    if (ctx.fault?.kind === 'delayHeaders' && !(await pause(ctx.fault.ms, ctx.signal))) return;
    await route.handle(ctx);
  }

  const server = http.createServer((req, res) => {
    onRequest(req, res).catch((error: unknown) => {
      // A bug in the fake must show, and must not hang the client.
      console.error(`fake ${options.name} failed on ${req.method} ${req.url}`, error);
      if (!res.headersSent) sendJson(res, 500, { error: { message: `fake ${options.name} failed: ${String(error)}` } });
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    (fake as { connections: number }).connections++;
    connectionOrdinals.set(socket, ++acceptedConnections);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    onUpgrade(req, socket, head).catch((error: unknown) => {
      console.error(`fake ${options.name} failed on upgrade ${req.url}`, error);
      socket.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  fake.port = port;
  fake.url = `http://127.0.0.1:${port}`;
  return fake;
}
