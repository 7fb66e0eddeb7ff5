// The little of a logger the reporter needs. A pino logger fits it; so does anything with these four methods.
export type LogMethod = (fields: Record<string, unknown>, message?: string) => void;

export interface MinimalLogger {
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
}

const ignore: LogMethod = () => undefined;
export const silentLogger: MinimalLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
