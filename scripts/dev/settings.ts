// What `npm run dev` runs, read once from the env file (.dev.vars, else the committed .dev.vars.example; DEV_ENV_FILE
// picks another). A value in the file wins over the shell's environment, as wrangler's --env-file does for the
// functions, so the processes agree. A bad value stops the start with a message naming the variable, never its value.
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, resolve } from 'node:path';
import { parseEnv } from 'node:util';

export const ROOT = resolve(import.meta.dirname, '../..');

export interface Endpoint {
  url: string;
  host: string;
  port: number;
}

export interface DevSettings {
  file: string;
  /** The shell's environment under the file's values: what every started process inherits. */
  env: Record<string, string | undefined>;
  redis: Endpoint;
  standIn: Endpoint;
  launcher: Endpoint;
  functionsPort: number;
  livekit: Endpoint & { httpUrl: string; apiKey: string; apiSecret: string; tcpPort: number; udpPort: number };
  fakes: { basePort: number; profile: string };
}

export class DevConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DevConfigError';
  }
}

export function envFilePath(env: NodeJS.ProcessEnv = process.env): string {
  const chosen = env.DEV_ENV_FILE ?? (existsSync(resolve(ROOT, '.dev.vars')) ? '.dev.vars' : '.dev.vars.example');
  return resolve(ROOT, chosen);
}

export function readDevSettings(processEnv: NodeJS.ProcessEnv = process.env): DevSettings {
  const file = envFilePath(processEnv);
  if (!existsSync(file)) throw new DevConfigError(`no env file at ${file} (DEV_ENV_FILE)`);
  const vars = parseEnv(readFileSync(file, 'utf8')) as Record<string, string | undefined>;
  const env = { ...processEnv, ...vars };
  // This Node first on PATH, so whatever a service runs as `node` (wrangler's build command) is the same Node 24,
  // not an older system one.
  env.PATH = [dirname(process.execPath), env.PATH].filter(Boolean).join(delimiter);
  const required = (name: string): string => {
    const value = env[name];
    if (!value) throw new DevConfigError(`${name} is not set in ${file}`);
    return value;
  };
  const port = (name: string, fallback: number, min = 1): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > 65_535) throw new DevConfigError(`${name} must be a port number (${min}-65535)`);
    return value;
  };
  const endpoint = (name: string): Endpoint => {
    const url = required(name);
    try {
      const u = new URL(url);
      const secure = u.protocol === 'https:' || u.protocol === 'wss:';
      return { url, host: u.hostname, port: Number(u.port || (secure ? 443 : 80)) };
    } catch {
      throw new DevConfigError(`${name} is not a valid URL`);
    }
  };

  const livekit = endpoint('LIVEKIT_URL');
  if (!/^wss?:$/.test(new URL(livekit.url).protocol)) throw new DevConfigError('LIVEKIT_URL must start with ws:// or wss://');
  return {
    file,
    env,
    redis: endpoint('REDIS_URL'),
    standIn: endpoint('UPSTASH_REDIS_REST_URL'),
    launcher: endpoint('LOCAL_LAUNCHER_URL'),
    functionsPort: port('DEV_FUNCTIONS_PORT', 8787),
    livekit: {
      ...livekit,
      httpUrl: livekit.url.replace(/^ws/, 'http'),
      apiKey: required('LIVEKIT_API_KEY'),
      apiSecret: required('LIVEKIT_API_SECRET'),
      // Fixed by default so a browser on this machine, and the README, can rely on them.
      tcpPort: port('DEV_LIVEKIT_TCP_PORT', 7881),
      udpPort: port('DEV_LIVEKIT_UDP_PORT', 7882),
    },
    fakes: { basePort: port('FAKES_BASE_PORT', 8901), profile: env.FAKES_PROFILE || 'realistic' },
  };
}

/** Hosts a server started here can serve (livekit-server binds 127.0.0.1). */
export function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]' || host === '::1';
}
