// The local launcher's settings, parsed once at start from its environment. A bad value stops the start with a
// message naming the variable (never echoing it: LOCAL_LAUNCHER_TOKEN is a secret).
import { z } from 'zod';
import { splitCommand } from './command.ts';
import { DEFAULT_WORKER_ENV_NAMES, isForbiddenWorkerEnv } from './worker-env.ts';

export interface LauncherConfig {
  host: string;
  /** 0 picks a free port (tests); the chosen one is logged in the `listening` event. */
  port: number;
  token: string;
  /** Names of the launcher's own variables every worker gets (see worker-env.ts); everything else stays here. */
  workerEnvNames: string[];
  stopGraceMs: number;
  maxTasks: number;
  /** argv of the worker, split without a shell. */
  workerCommand: string[];
}

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `must be a whole number between ${min} and ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const envSchema = z.object({
  // 127.0.0.1 by default: the API starts processes. docker-compose sets 0.0.0.0 inside its private network.
  LOCAL_LAUNCHER_HOST: z.string().min(1).default('127.0.0.1'),
  LOCAL_LAUNCHER_PORT: integer(0, 65_535).default(8790),
  // Required: this API starts processes. The functions send it as LOCAL_LAUNCHER_TOKEN too.
  LOCAL_LAUNCHER_TOKEN: z.string({ error: 'is required (at least 16 characters)' }).min(16, 'must be at least 16 characters'),
  // Extra names to pass on top of the defaults, comma-separated; a credential a worker must not hold is refused.
  LOCAL_LAUNCHER_WORKER_ENV: z
    .string()
    .default('')
    .transform((list, ctx) => {
      const names = list.split(',').map((n) => n.trim()).filter(Boolean);
      for (const name of names) {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) ctx.addIssue({ code: 'custom', message: `"${name}" is not a variable name` });
        else if (isForbiddenWorkerEnv(name)) ctx.addIssue({ code: 'custom', message: `${name} must never reach a worker` });
      }
      return names;
    }),
  LOCAL_LAUNCHER_STOP_GRACE_MS: integer(0, 600_000).default(10_000),
  LOCAL_LAUNCHER_MAX_TASKS: integer(1, 1_000).default(20),
  LOCAL_WORKER_COMMAND: z
    .string()
    .default('node worker/main.ts')
    .transform((command, ctx) => {
      const argv = splitCommand(command);
      if (typeof argv === 'string' || argv.length === 0) {
        ctx.addIssue({ code: 'custom', message: typeof argv === 'string' ? argv : 'must name a command' });
        return z.NEVER;
      }
      return argv;
    }),
});

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function parseLauncherConfig(env: Record<string, string | undefined>): LauncherConfig {
  // An empty variable (`FOO=` in a compose file) means "use the default", as if it were not set.
  const present = Object.fromEntries(
    Object.keys(envSchema.shape).flatMap((name) => (env[name] ? [[name, env[name]]] : [])),
  );
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`);
    throw new ConfigError(`invalid local launcher environment: ${problems.join('; ')}`);
  }
  const v = parsed.data;
  return {
    host: v.LOCAL_LAUNCHER_HOST,
    port: v.LOCAL_LAUNCHER_PORT,
    token: v.LOCAL_LAUNCHER_TOKEN,
    workerEnvNames: [...new Set([...DEFAULT_WORKER_ENV_NAMES, ...v.LOCAL_LAUNCHER_WORKER_ENV])],
    stopGraceMs: v.LOCAL_LAUNCHER_STOP_GRACE_MS,
    maxTasks: v.LOCAL_LAUNCHER_MAX_TASKS,
    workerCommand: v.LOCAL_WORKER_COMMAND,
  };
}
