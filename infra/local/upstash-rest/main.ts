// Runs the Upstash REST stand-in as a process: `node infra/local/upstash-rest/main.ts` (see config.ts for the env).
import { parseStandInConfig, redactRedisUrl } from './config.ts';
import { createUpstashRestServer } from './server.ts';
import type { StandInLogger } from './server.ts';

const SHUTDOWN_BOUND_MS = 5_000;

const logLine: StandInLogger = (event) => {
  const line = JSON.stringify({ time: new Date().toISOString(), service: 'upstash-rest-stand-in', ...event });
  (event.level === 'info' ? process.stdout : process.stderr).write(`${line}\n`);
};

async function main(): Promise<void> {
  const config = parseStandInConfig(process.env);
  const standIn = createUpstashRestServer({ redisUrl: config.redisUrl, token: config.token, logger: logLine });
  const { url } = await standIn.listen(config.port, config.host);
  logLine({ level: 'info', event: 'listening', url, redisUrl: redactRedisUrl(config.redisUrl) });

  const shutdown = (signal: NodeJS.Signals) => {
    logLine({ level: 'info', event: 'stopping', signal });
    // A stuck close must not keep the process alive past its supervisor's patience.
    setTimeout(() => process.exit(1), SHUTDOWN_BOUND_MS).unref();
    standIn.close().then(() => {
      logLine({ level: 'info', event: 'stopped' });
      process.exit(0);
    });
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((error: unknown) => {
  const reason = error instanceof Error ? error.message : String(error);
  logLine({ level: 'error', event: 'start_failed', reason });
  process.exit(1);
});
