// The worker's logger: pino, one JSON event per line on stdout, level from LOG_LEVEL (default info). Fields that can
// hold a secret are censored wherever a careless call puts them: at the top level, one object down, and in headers.
import { pino, type DestinationStream, type Logger } from 'pino';
import { z } from 'zod';

export type { Logger } from 'pino';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

// Field names that carry credentials in this codebase, the SDKs' options, HTTP headers and the environment.
const SECRET_FIELDS = [
  'apiKey',
  'api_key',
  'apiSecret',
  'secret',
  'token',
  'accessToken',
  'workerToken',
  'password',
  'authorization',
  'Authorization',
  'cookie',
  'xi-api-key',
  'x-api-key',
  'OPENAI_API_KEY',
  'ANTHROPIC_API_KEY',
  'GROQ_API_KEY',
  'DEEPGRAM_API_KEY',
  'ELEVENLABS_API_KEY',
  'LIVEKIT_API_SECRET',
  'WORKER_TOKEN',
  'WORKER_BOOTSTRAP_TOKEN',
  'workerToken',
  'token',
] as const;

const CENSOR = '[redacted]';

function redactionPaths(): string[] {
  return SECRET_FIELDS.flatMap((field) => {
    const key = `["${field}"]`;
    return [key, `*${key}`, `headers${key}`, `*.headers${key}`];
  });
}

export interface LoggerOptions {
  /** Overrides LOG_LEVEL. */
  level?: string;
  /** Where LOG_LEVEL is read from (default process.env). */
  env?: Record<string, string | undefined>;
  /** Fields on every line, e.g. { room, sessionId }. */
  base?: Record<string, unknown>;
  /** Default stdout; tests pass a stream to read the lines back. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const raw = options.level ?? (options.env ?? process.env)['LOG_LEVEL'];
  const level = z.enum(LEVELS).default('info').safeParse(raw === '' ? undefined : raw?.toLowerCase());
  if (!level.success) throw new Error(`LOG_LEVEL must be one of ${LEVELS.join(', ')}, not "${raw}"`);
  const settings = {
    level: level.data,
    base: { service: 'worker', ...options.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    redact: { paths: redactionPaths(), censor: CENSOR },
  };
  // pino's own default destination is stdout, written synchronously: no line is lost when the process exits.
  return options.destination ? pino(settings, options.destination) : pino(settings);
}
