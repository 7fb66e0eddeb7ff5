// The local launcher's settings, parsed once at start from its environment. A bad value stops the start with a
// message naming the variable (never echoing it: LOCAL_LAUNCHER_TOKEN is a secret).
import { z } from 'zod';
import { splitCommand } from './command.ts';

export interface LauncherConfig {
  host: string;
  /** 0 picks a free port (tests); the chosen one is logged in the `listening` event. */
  port: number;
  token: string | undefined;
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
  LOCAL_LAUNCHER_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
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
    stopGraceMs: v.LOCAL_LAUNCHER_STOP_GRACE_MS,
    maxTasks: v.LOCAL_LAUNCHER_MAX_TASKS,
    workerCommand: v.LOCAL_WORKER_COMMAND,
  };
}
