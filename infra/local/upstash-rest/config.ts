// The stand-in's settings, read once from the environment; a bad or missing value names its variable.
import { z } from 'zod';

const EnvSchema = z.object({
  UPSTASH_STANDIN_PORT: z.coerce.number().int().min(0).max(65_535).default(8079),
  UPSTASH_STANDIN_HOST: z.string().min(1).default('127.0.0.1'),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).default('redis://127.0.0.1:6379'),
  UPSTASH_REDIS_REST_TOKEN: z
    .string({ error: 'is required: the bearer token that clients of the stand-in must present' })
    .min(1, 'must not be empty'),
});

export type StandInConfig = { port: number; host: string; redisUrl: string; token: string };

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function parseStandInConfig(env: Record<string, string | undefined>): StandInConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`);
    throw new ConfigError(`invalid environment for the Upstash REST stand-in: ${problems.join('; ')}`);
  }
  const { data } = parsed;
  return {
    port: data.UPSTASH_STANDIN_PORT,
    host: data.UPSTASH_STANDIN_HOST,
    redisUrl: data.REDIS_URL,
    token: data.UPSTASH_REDIS_REST_TOKEN,
  };
}

/** The Redis URL with any password masked, fit for a log line. */
export function redactRedisUrl(redisUrl: string): string {
  const url = new URL(redisUrl);
  if (url.password) url.password = '***';
  return url.toString();
}
