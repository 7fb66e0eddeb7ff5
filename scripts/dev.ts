// `npm run dev`: the whole system on this machine as plain processes, no Docker: livekit-server (unless LIVEKIT_URL
// already answers), redis-server (unless REDIS_URL already answers), the fake vendors when no provider key is set
// (the demo profile), the Upstash REST stand-in, the local launcher (one real worker per room) and the functions under
// `wrangler dev`. Prints what runs where; Ctrl-C stops everything it started, a second Ctrl-C kills it at once.
import { resolve } from 'node:path';
import type { LiveKitServer } from '../infra/local/livekit/server.ts';
import { startOrReuseLiveKit } from './dev/livekit.ts';
import { httpAnswers, portAnswers, tcpPortFree, waitUntil } from './dev/probe.ts';
import { killService, signalGroup, startService, stopService, type Service } from './dev/processes.ts';
import { DevConfigError, ROOT, readDevSettings, type DevSettings } from './dev/settings.ts';
import { planVendors } from './dev/vendors.ts';

const READY_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 8_000;
/** The launcher waits out its workers' own grace (LOCAL_LAUNCHER_STOP_GRACE_MS, 10 s by default) before it exits. */
const LAUNCHER_EXTRA_GRACE_MS = 5_000;

const services: Service[] = [];
let livekit: LiveKitServer | undefined;
/** Workers the launcher runs, from its task_started / task_exited events: a forced stop kills them too. */
const workerPids = new Set<number>();
let stopping = false;
/** The env the services got (the launcher's grace is read from it at stop). */
let settingsEnv: Record<string, string | undefined> = process.env;

function start(name: string, args: string[], env: Record<string, string | undefined>, onLine?: (line: string) => void, command = process.execPath): Service {
  const service = startService(name, command, args, {
    env,
    onLine,
    onUnexpectedExit: (how) => {
      if (stopping) return;
      console.error(`[${name}] exited (${how}); stopping the stack`);
      void shutdown(1);
    },
  });
  services.push(service);
  return service;
}

function trackWorkers(line: string): void {
  if (!line.startsWith('{')) return;
  try {
    const event = JSON.parse(line) as { event?: string; pid?: number | null };
    if (typeof event.pid !== 'number') return;
    if (event.event === 'task_started') workerPids.add(event.pid);
    if (event.event === 'task_exited') workerPids.delete(event.pid);
  } catch {
    // a worker's own line, passed through by the launcher
  }
}

async function ensureFree(port: number, variable: string): Promise<void> {
  if (!(await tcpPortFree('127.0.0.1', port))) throw new DevConfigError(`port ${port} (${variable}) is in use: stop what holds it or change ${variable}`);
}

const ready = (what: string, probe: () => Promise<boolean>) => waitUntil(what, probe, READY_TIMEOUT_MS, () => stopping);

async function main(settings: DevSettings): Promise<void> {
  const { redis, standIn, launcher, functionsPort, file } = settings;
  const functionsUrl = `http://127.0.0.1:${functionsPort}`;
  settingsEnv = settings.env;
  const vendors = planVendors(settings);
  console.log(vendors.banner);
  await ensureFree(standIn.port, 'UPSTASH_REDIS_REST_URL');
  await ensureFree(launcher.port, 'LOCAL_LAUNCHER_URL');
  await ensureFree(functionsPort, 'DEV_FUNCTIONS_PORT');
  if (vendors.profile === 'demo') for (const port of vendors.ports) await ensureFree(port, 'FAKES_BASE_PORT');
  const rows: [string, string][] = [];

  const lk = await startOrReuseLiveKit(settings, `${functionsUrl}/v1/webhooks/livekit`);
  livekit = lk.server;
  if (livekit) watchLiveKit(livekit);
  rows.push(['livekit', lk.description]);

  if (await portAnswers(redis.host, redis.port)) {
    rows.push(['redis', `${redis.url} (already running, reused)`]);
  } else {
    start('redis', ['--port', String(redis.port), '--bind', redis.host, '--save', '', '--appendonly', 'no'], settings.env, undefined, 'redis-server');
    await ready('redis-server', () => portAnswers(redis.host, redis.port));
    rows.push(['redis', `${redis.url} (redis-server started here, in memory)`]);
  }

  if (vendors.profile === 'demo') {
    start('fakes', ['test/fakes/run.ts'], { ...settings.env, FAKES_BASE_PORT: String(vendors.ports[0]), FAKES_PROFILE: vendors.fakesProfile });
    await ready('the fake vendors', async () => (await Promise.all(vendors.ports.map((p) => portAnswers('127.0.0.1', p)))).every(Boolean));
    rows.push(['vendors', `fakes on 127.0.0.1:${vendors.ports.join(', ')} (openai, anthropic, groq, deepgram, elevenlabs; /__fake/ drives them)`]);
  } else {
    rows.push(['vendors', `real: ${vendors.withKeys.join(', ')}${vendors.withoutKeys.length ? ` (no key: ${vendors.withoutKeys.join(', ')})` : ''}`]);
  }

  start('stand-in', ['infra/local/upstash-rest/main.ts'], { ...settings.env, UPSTASH_STANDIN_HOST: standIn.host, UPSTASH_STANDIN_PORT: String(standIn.port) });
  start(
    'launcher',
    ['infra/local/launcher/main.ts'],
    {
      ...settings.env,
      LOCAL_LAUNCHER_HOST: launcher.host,
      LOCAL_LAUNCHER_PORT: String(launcher.port),
      // Each worker's /health on a free port: with the default 8081 a second room's worker would fail to start.
      // (A launcher that allow-lists its workers' env sets this itself; one that passes its whole env needs it here.)
      HEALTH_PORT: '0',
      ...vendors.workerEnv,
    },
    trackWorkers,
  );
  start(
    'functions',
    [resolve(ROOT, 'node_modules/wrangler/bin/wrangler.js'), 'dev', '--ip', '127.0.0.1', '--port', String(functionsPort),
      '--env-file', file, '--test-scheduled', '--show-interactive-dev-session=false', '--log-level', 'info'],
    { ...settings.env, WRANGLER_SEND_METRICS: 'false' },
  );
  await Promise.all([
    ready('the Upstash REST stand-in', () => httpAnswers(`${standIn.url}/health`)),
    ready('the local launcher', () => httpAnswers(`${launcher.url}/health`)),
    ready('the functions', () => httpAnswers(`${functionsUrl}/health`)),
  ]);
  rows.push(
    ['upstash REST', `${standIn.url} (stand-in over redis)`],
    ['launcher', `${launcher.url} (starts: ${settings.env.LOCAL_WORKER_COMMAND ?? 'node worker/main.ts'}, one per room)`],
    ['functions', `${functionsUrl} (wrangler dev; talk page /, /health, /metrics, /v1/…; cron: /__scheduled)`],
    ['settings', file],
  );
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log(`\nvoice agent stack is up:\n${rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n')}\n\n${vendors.banner}\nCtrl-C stops everything.\n`);
  console.log(
    JSON.stringify({
      event: 'dev_stack_ready',
      functionsUrl,
      livekitUrl: settings.livekit.url,
      livekit: livekit ? 'started' : 'reused',
      vendors: vendors.profile,
      ...(vendors.profile === 'demo' ? { fakesPorts: vendors.ports } : {}),
    }),
  );
}

/** livekit-server is not one of our detached services (startLiveKitServer owns it): notice when it dies under us. */
function watchLiveKit(server: LiveKitServer): void {
  const timer = setInterval(() => {
    if (stopping || server.pid === undefined) return;
    try {
      process.kill(server.pid, 0);
    } catch {
      clearInterval(timer);
      console.error(`[livekit] exited unexpectedly; stopping the stack\n${server.logs().slice(-2_000)}`);
      void shutdown(1);
    }
  }, 1_000);
  timer.unref();
}

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(JSON.stringify({ event: 'dev_stack_stopping', services: services.map((s) => s.name), livekit: livekit !== undefined }));
  const byName = (name: string) => services.find((s) => s.name === name);
  // The launcher first, while LiveKit and the functions are still up: its workers leave their rooms and report 'ended'.
  const launcher = byName('launcher');
  if (launcher) {
    const launcherGrace = Number(settingsEnv.LOCAL_LAUNCHER_STOP_GRACE_MS || 10_000) + LAUNCHER_EXTRA_GRACE_MS;
    await stopService(launcher, launcherGrace);
  }
  for (const pid of workerPids) signalGroup(pid, 'SIGKILL');
  await Promise.all([
    ...services.filter((s) => s !== launcher && s.name !== 'redis').map((s) => stopService(s, STOP_GRACE_MS)),
    livekit?.stop(),
  ]);
  const redis = byName('redis');
  if (redis) await stopService(redis, STOP_GRACE_MS);
  console.log(JSON.stringify({ event: 'dev_stack_stopped', code }));
  process.exit(code);
}

/** The second Ctrl-C: no more waiting. */
function force(): void {
  console.error('second signal: killing everything now');
  for (const pid of workerPids) signalGroup(pid, 'SIGKILL');
  services.forEach(killService);
  if (livekit?.pid !== undefined) signalGroup(livekit.pid, 'SIGKILL');
  process.exit(1);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => (stopping ? force() : void shutdown(0)));

try {
  await main(readDevSettings());
} catch (err) {
  if (!stopping) {
    console.error(`npm run dev: ${err instanceof Error ? err.message : String(err)}`);
    void shutdown(1);
  }
}
