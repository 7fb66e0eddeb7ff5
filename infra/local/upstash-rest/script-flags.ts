// Upstash accepts Lua shebang flags that open-source Redis does not know (e.g. @upstash/ratelimit's
// `#!lua flags=allow-key-locking`); Redis 7 rejects the whole script for them. The stand-in drops the unknown
// flags before Redis sees the script, and remembers which SHA1 the client will ask for, so EVALSHA of the
// client's own digest still finds the adapted script.
import { createHash } from 'node:crypto';
import type { RedisCommand } from './commands.ts';

const FLAGS_REDIS_KNOWS = new Set(['no-writes', 'allow-oom', 'allow-stale', 'no-cluster', 'allow-cross-slot-keys']);
const SHEBANG = /^#!lua([^\n]*)/;

/** client's SHA1 of the original script → SHA1 of the script Redis actually holds. */
const adaptedShas = new Map<string, string>();

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

export function adaptScriptBody(script: string): string {
  const match = SHEBANG.exec(script);
  if (!match) return script;
  const options = (match[1] ?? '').trim().split(/\s+/).filter(Boolean);
  const kept = options.map((option) => {
    if (!option.startsWith('flags=')) return option;
    const flags = option.slice('flags='.length).split(',').filter((f) => FLAGS_REDIS_KNOWS.has(f));
    return `flags=${flags.join(',')}`;
  });
  const adapted = `#!lua${kept.length ? ` ${kept.join(' ')}` : ''}${script.slice(match[0].length)}`;
  if (adapted !== script) adaptedShas.set(sha1(script), sha1(adapted));
  return adapted;
}

export function adaptScriptCommand(command: RedisCommand): RedisCommand {
  const { name, args } = command;
  if ((name === 'EVAL' || name === 'EVAL_RO') && args[0] !== undefined) {
    return { name, args: [adaptScriptBody(args[0]), ...args.slice(1)] };
  }
  if (name === 'SCRIPT' && args[0]?.toUpperCase() === 'LOAD' && args[1] !== undefined) {
    return { name, args: [args[0], adaptScriptBody(args[1]), ...args.slice(2)] };
  }
  if ((name === 'EVALSHA' || name === 'EVALSHA_RO') && args[0] !== undefined) {
    const adapted = adaptedShas.get(args[0].toLowerCase());
    if (adapted) return { name, args: [adapted, ...args.slice(1)] };
  }
  return command;
}
