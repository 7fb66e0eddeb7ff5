// Structured JSON logs, one event per line. Workers' own lines are passed through as text, prefixed with their task id.

export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Log {
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /** One line of a worker's stdout or stderr. */
  workerLine(taskId: string, stream: 'stdout' | 'stderr', line: string): void;
}

export function createLog(): Log {
  const write = (level: string, event: string, fields: LogFields = {}) => {
    const line = JSON.stringify({ level, timeMs: Date.now(), service: 'local-launcher', event, ...fields });
    (level === 'info' ? process.stdout : process.stderr).write(`${line}\n`);
  };
  return {
    info: (event, fields) => write('info', event, fields),
    warn: (event, fields) => write('warn', event, fields),
    error: (event, fields) => write('error', event, fields),
    workerLine: (taskId, stream, line) => process[stream].write(`[${taskId}] ${line}\n`),
  };
}
