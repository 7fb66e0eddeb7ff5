// The local launcher: `node infra/local/launcher/main.ts`. Starts one worker process per room on request, the way
// ECS RunTask does in production. Settings: LOCAL_LAUNCHER_* and LOCAL_WORKER_COMMAND (see config.ts).
import { resolve } from 'node:path';
import { ConfigError, parseLauncherConfig, type LauncherConfig } from './config.ts';
import { createLog } from './log.ts';
import { createLauncherServer } from './server.ts';
import { TaskSupervisor } from './tasks.ts';

const REPO_ROOT = resolve(import.meta.dirname, '../../..');
const log = createLog();

let config: LauncherConfig;
try {
  config = parseLauncherConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  log.error('config_invalid', { error: error.message });
  process.exit(1);
}

const tasks = new TaskSupervisor({
  workerCommand: config.workerCommand,
  cwd: REPO_ROOT,
  stopGraceMs: config.stopGraceMs,
  maxTasks: config.maxTasks,
  baseEnv: process.env,
  workerEnvNames: config.workerEnvNames,
  log,
});
const server = createLauncherServer({ tasks, maxTasks: config.maxTasks, token: config.token, log });

server.on('error', (error) => {
  log.error('listen_failed', { host: config.host, port: config.port, error: error.message });
  process.exit(1);
});
server.listen(config.port, config.host, () => {
  const address = server.address();
  log.info('listening', {
    host: config.host,
    port: typeof address === 'object' && address ? address.port : config.port,
    workerCommand: config.workerCommand.join(' '),
    maxTasks: config.maxTasks,
    stopGraceMs: config.stopGraceMs,
    auth: 'bearer',
    workerEnvNames: config.workerEnvNames.length,
  });
});

let shuttingDown = false;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (shuttingDown) {
    // A second Ctrl-C: do not wait out the grace period again.
    log.warn('shutdown_forced', { signal });
    process.exit(1);
  }
  shuttingDown = true;
  log.info('shutdown', { signal, running: tasks.runningCount });
  server.close();
  server.closeAllConnections();
  await tasks.stopAll();
  log.info('shutdown_complete', { running: tasks.runningCount });
  process.exit(0);
}
process.on('SIGTERM', (signal) => void shutdown(signal));
process.on('SIGINT', (signal) => void shutdown(signal));
