// Structured JSON logs, one event per line. Callers pass identifiers and classes, never transcripts or secrets.
type Level = 'debug' | 'info' | 'warn' | 'error';

export type LogFields = Record<string, string | number | boolean | null | undefined>;

export function log(level: Level, event: string, fields: LogFields = {}): void {
  const line = JSON.stringify({ level, event, time: new Date().toISOString(), ...fields });
  if (level === 'error') console.error(line);
  else if (level === 'warn') console.warn(line);
  else console.log(line);
}

// @upstash/redis appends the whole failed command to its messages, arguments included (history text, tokens).
const REDIS_COMMAND_ECHO = /,?\s*command was:[\s\S]*$/;

/** A short, secret-free description of an unknown error for logs and status fields. */
export function describeError(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.replace(REDIS_COMMAND_ECHO, '').slice(0, 300);
}
