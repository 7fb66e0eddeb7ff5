// The real livekit-server (built from its Go module by scripts/build-livekit.sh) as a plain process on loopback, for
// `npm run dev` and the tests: keys, webhooks pointed at the functions, one UDP port and one ICE/TCP port, loopback
// candidates only (no STUN lookup: there is no internet), and short room timeouts when asked.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

const REPO_ROOT = resolve(import.meta.dirname, '../../..');
/** Where scripts/build-livekit.sh installs the pinned server and CLI (git-ignored). */
export const LIVEKIT_TOOLS_DIR = resolve(REPO_ROOT, '.tools/bin');
export const LIVEKIT_SERVER_VERSION = '1.13.5';
export const LIVEKIT_CLI_VERSION = '2.18.2';
const READY_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 5_000;

export interface LiveKitServerOptions {
  /** Signalling and Twirp API port (7880 in development); 0 picks a free one. */
  port?: number;
  /** ICE/TCP port; 0 (default) picks a free one. */
  tcpPort?: number;
  /** The one UDP port all media is multiplexed on; 0 (default) picks a free one. */
  udpPort?: number;
  apiKey?: string;
  apiSecret?: string;
  /** Webhook receivers; signed with `apiKey`'s secret (LiveKit requires the webhook key to be one of its keys). */
  webhookUrls?: string[];
  /** A key pair used for nothing but signing webhooks (added to the server's keys); default: `apiKey`'s. */
  webhookKey?: { key: string; secret: string };
  /** Seconds a room is kept when nobody joins / after everyone left (LiveKit's defaults: 300 / 20). */
  emptyTimeoutSeconds?: number;
  departureTimeoutSeconds?: number;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Receives each line the server logs (it logs JSON-ish console lines to stdout and stderr). */
  onLog?: (line: string) => void;
}

export interface LiveKitServer {
  /** ws://127.0.0.1:PORT, what clients and RoomServiceClient take. */
  url: string;
  httpUrl: string;
  apiKey: string;
  apiSecret: string;
  ports: { http: number; tcp: number; udp: number };
  pid: number | undefined;
  /** The last lines the server logged (bounded). */
  logs(): string;
  /** Stops the server and starts it again on the same ports (rooms are lost, as with a real restart). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export class LiveKitServerMissingError extends Error {
  constructor(path: string) {
    super(`livekit-server is not built (looked for ${path}): run \`npm run setup\`, which builds v${LIVEKIT_SERVER_VERSION} from its Go module`);
    this.name = 'LiveKitServerMissingError';
  }
}

/** The server binary: LIVEKIT_SERVER_BIN, else the one setup built. */
export function liveKitServerBinary(env: NodeJS.ProcessEnv = process.env): string {
  return env['LIVEKIT_SERVER_BIN'] || resolve(LIVEKIT_TOOLS_DIR, 'livekit-server');
}

export function liveKitCliBinary(env: NodeJS.ProcessEnv = process.env): string {
  return env['LIVEKIT_CLI_BIN'] || resolve(LIVEKIT_TOOLS_DIR, 'lk');
}

/** The YAML the server is started with (JSON is YAML). */
export function liveKitConfig(o: Required<Omit<LiveKitServerOptions, 'onLog' | 'webhookKey'>> & Pick<LiveKitServerOptions, 'webhookKey'>): string {
  const webhookKey = o.webhookKey ?? { key: o.apiKey, secret: o.apiSecret };
  const config = {
    port: o.port,
    bind_addresses: ['127.0.0.1'],
    rtc: {
      tcp_port: o.tcpPort,
      udp_port: o.udpPort,
      node_ip: '127.0.0.1',
      use_external_ip: false,
      enable_loopback_candidate: true,
      // Only loopback candidates: media never leaves this machine, and no interface is probed for a public address.
      interfaces: { includes: ['lo'] },
      ips: { includes: ['127.0.0.1/32'] },
      stun_servers: [],
    },
    keys: { [o.apiKey]: o.apiSecret, [webhookKey.key]: webhookKey.secret },
    ...(o.webhookUrls.length > 0 ? { webhook: { api_key: webhookKey.key, urls: o.webhookUrls } } : {}),
    room: { empty_timeout: o.emptyTimeoutSeconds, departure_timeout: o.departureTimeoutSeconds },
    logging: { level: o.logLevel, pion_level: 'error' },
  };
  return JSON.stringify(config);
}

// Ports are picked below Linux's ephemeral range (32768+), where outgoing connections take theirs: a port found free
// there stays free until the server binds it, unless another test picked the same one (then the start is retried).
const PICK_FROM = 20_000;
const PICK_TO = 32_000;

async function bindsTcp(port: number): Promise<boolean> {
  const probe = createServer();
  return new Promise((done) => {
    probe.once('error', () => done(false));
    probe.listen(port, '0.0.0.0', () => probe.close(() => done(true)));
  });
}

async function bindsUdp(port: number): Promise<boolean> {
  const probe = createSocket('udp4');
  return new Promise((done) => {
    probe.once('error', () => (probe.close(), done(false)));
    probe.bind(port, '127.0.0.1', () => probe.close(() => done(true)));
  });
}

async function pickPort(binds: (port: number) => Promise<boolean>): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const port = PICK_FROM + Math.floor(Math.random() * (PICK_TO - PICK_FROM));
    if (await binds(port)) return port;
  }
  throw new Error(`no free port between ${PICK_FROM} and ${PICK_TO}`);
}

/** A free TCP port for livekit-server's HTTP listener, when the caller must know it before the server starts. */
export const pickLiveKitPort = (): Promise<number> => pickPort(bindsTcp);

async function answers(httpUrl: string): Promise<boolean> {
  try {
    const res = await fetch(httpUrl, { signal: AbortSignal.timeout(1_000) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

/** Starts livekit-server and resolves once it answers on its HTTP port. */
export async function startLiveKitServer(options: LiveKitServerOptions = {}): Promise<LiveKitServer> {
  const binary = liveKitServerBinary();
  if (!existsSync(binary)) throw new LiveKitServerMissingError(binary);
  const settings = {
    port: options.port || (await pickPort(bindsTcp)),
    tcpPort: options.tcpPort || (await pickPort(bindsTcp)),
    udpPort: options.udpPort || (await pickPort(bindsUdp)),
    apiKey: options.apiKey ?? 'devkey',
    apiSecret: options.apiSecret ?? 'secret',
    webhookUrls: options.webhookUrls ?? [],
    webhookKey: options.webhookKey,
    emptyTimeoutSeconds: options.emptyTimeoutSeconds ?? 300,
    departureTimeoutSeconds: options.departureTimeoutSeconds ?? 20,
    logLevel: options.logLevel ?? 'warn',
  };
  const httpUrl = `http://127.0.0.1:${settings.port}`;
  let tail = '';
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const launch = async () => {
    const proc = spawn(binary, ['--config-body', liveKitConfig(settings)], {
      // No LIVEKIT_* from the caller's shell: the config above is the whole truth.
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    let gone: string | undefined;
    exited = new Promise<void>((done) =>
      proc.once('exit', (code, signal) => {
        gone = signal ?? `code ${code}`;
        done();
      }),
    );
    const keep = (chunk: Buffer) => {
      const text = chunk.toString();
      tail = (tail + text).slice(-20_000);
      if (options.onLog) for (const line of text.split('\n')) if (line.trim()) options.onLog(line);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!(await answers(httpUrl))) {
      if (gone !== undefined) throw new Error(`livekit-server exited (${gone}) before it was ready:\n${tail.slice(-2_000)}`);
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`livekit-server did not answer on ${httpUrl} within ${READY_TIMEOUT_MS} ms:\n${tail.slice(-2_000)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const stop = async () => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  };

  // Another process may have taken a port picked for us between the probe and the server's bind: pick again.
  for (let attempt = 1; ; attempt++) {
    try {
      await launch();
      break;
    } catch (err) {
      const clash = err instanceof Error && err.message.includes('address already in use');
      if (!clash || attempt === 3 || (options.tcpPort && options.udpPort)) throw err;
      if (!options.tcpPort) settings.tcpPort = await pickPort(bindsTcp);
      if (!options.udpPort) settings.udpPort = await pickPort(bindsUdp);
    }
  }
  return {
    url: `ws://127.0.0.1:${settings.port}`,
    httpUrl,
    apiKey: settings.apiKey,
    apiSecret: settings.apiSecret,
    ports: { http: settings.port, tcp: settings.tcpPort, udp: settings.udpPort },
    get pid() {
      return child?.pid;
    },
    logs: () => tail,
    async restart() {
      await stop();
      await launch();
    },
    stop,
  };
}
