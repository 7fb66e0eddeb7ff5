// The worker's logger: JSON lines, the level from LOG_LEVEL, and secrets censored wherever a careless call puts them.
import { describe, expect, it } from 'vitest';
import { createLogger, type LoggerOptions } from '../../worker/log.ts';

function capture(options: LoggerOptions = {}) {
  const raw: string[] = [];
  const log = createLogger({ ...options, destination: { write: (line: string) => void raw.push(line) } });
  return { log, raw, lines: () => raw.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('worker logger', () => {
  it('writes one JSON object per line with a level label, time, service and message', () => {
    const { log, raw, lines } = capture({ env: {}, base: { room: 'r1' } });
    log.info({ provider: 'groq' }, 'left out');
    expect(raw).toHaveLength(1);
    expect(raw[0]?.endsWith('\n')).toBe(true);
    expect(lines()[0]).toMatchObject({ level: 'info', service: 'worker', room: 'r1', provider: 'groq', msg: 'left out' });
    expect(Date.parse(String(lines()[0]?.['time']))).not.toBeNaN();
  });

  it('takes its level from LOG_LEVEL, info by default', () => {
    const byDefault = capture({ env: {} });
    byDefault.log.debug('hidden');
    byDefault.log.info('shown');
    expect(byDefault.lines().map((l) => l['msg'])).toEqual(['shown']);
    const verbose = capture({ env: { LOG_LEVEL: 'DEBUG' } });
    verbose.log.debug('shown too');
    expect(verbose.lines().map((l) => l['msg'])).toEqual(['shown too']);
    const quiet = capture({ env: { LOG_LEVEL: 'warn' } });
    quiet.log.info('hidden');
    expect(quiet.raw).toEqual([]);
  });

  it('refuses an unknown LOG_LEVEL, naming the variable', () => {
    expect(() => createLogger({ env: { LOG_LEVEL: 'loud' } })).toThrow(/LOG_LEVEL must be one of/);
  });

  it('censors secret fields at the top level, one object down, and in headers', () => {
    const { log, raw } = capture({ env: {} });
    log.info(
      {
        apiKey: 'secret-a',
        OPENAI_API_KEY: 'secret-b',
        options: { token: 'secret-c', model: 'gpt-x' },
        request: { headers: { authorization: 'Bearer secret-d', 'xi-api-key': 'secret-e', 'content-type': 'application/json' } },
        headers: { 'x-api-key': 'secret-f' },
      },
      'configured',
    );
    const text = raw.join('');
    for (const secret of ['secret-a', 'secret-b', 'secret-c', 'secret-d', 'secret-e', 'secret-f']) expect(text).not.toContain(secret);
    expect(text).toContain('"model":"gpt-x"');
    expect(text).toContain('"content-type":"application/json"');
    expect(text).toContain('[redacted]');
  });
});
