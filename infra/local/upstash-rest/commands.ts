// Turns a request body into Redis commands, refusing what a shared, non-blocking REST connection cannot serve.
import { adaptScriptCommand } from './script-flags.ts';

/** A request the stand-in refuses before Redis sees it; `status` is the HTTP status to answer with. */
export class RequestError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'RequestError';
    this.status = status;
  }
}

export type RedisCommand = { name: string; args: string[] };

// They would park the shared connection (or every caller behind it) until data arrives.
const BLOCKING = new Set([
  'BLPOP', 'BRPOP', 'BRPOPLPUSH', 'BLMOVE', 'BLMPOP', 'BZPOPMIN', 'BZPOPMAX', 'BZMPOP', 'WAIT', 'WAITAOF',
]);
// They change the state of the one connection every caller shares, or turn it into a push channel.
const CONNECTION_STATE = new Set([
  'SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE', 'UNSUBSCRIBE', 'PUNSUBSCRIBE', 'SUNSUBSCRIBE', 'MONITOR',
  'MULTI', 'EXEC', 'DISCARD', 'WATCH', 'UNWATCH', 'SELECT', 'SWAPDB', 'AUTH', 'HELLO', 'QUIT', 'RESET', 'CLIENT',
  'SYNC', 'PSYNC', 'REPLICAOF', 'SLAVEOF', 'SHUTDOWN', 'DEBUG',
]);

/** Parses the raw body text as JSON, naming the problem when it is not. */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') throw new RequestError(400, 'ERR empty request body: expected a JSON array');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new RequestError(400, `ERR malformed JSON body: ${(error as Error).message}`);
  }
}

/** One command: a non-empty JSON array of strings, numbers or booleans, the name first. */
export function parseCommand(value: unknown, where = 'command'): RedisCommand {
  if (!Array.isArray(value)) throw new RequestError(400, `ERR ${where} must be a JSON array like ["SET","k","v"]`);
  if (value.length === 0) throw new RequestError(400, `ERR ${where} is empty`);
  const [name, ...rest] = value as unknown[];
  if (typeof name !== 'string' || name.trim() === '') {
    throw new RequestError(400, `ERR ${where} must start with the command name as a string`);
  }
  const args = rest.map((arg, index) => {
    if (typeof arg === 'string') return arg;
    if (typeof arg === 'number' || typeof arg === 'boolean') return String(arg);
    throw new RequestError(400, `ERR ${where}: argument ${index + 1} must be a string, number or boolean`);
  });
  // Upper case matters beyond matching the sets below: see the note in redis-gateway.ts.
  const command = { name: name.toUpperCase(), args };
  assertSupported(command, where);
  return adaptScriptCommand(command);
}

/** A pipeline or transaction: a non-empty JSON array of commands. */
export function parseCommandList(value: unknown): RedisCommand[] {
  if (!Array.isArray(value)) throw new RequestError(400, 'ERR body must be a JSON array of commands like [["SET","k","v"]]');
  if (value.length === 0) throw new RequestError(400, 'ERR pipeline is empty');
  return value.map((item: unknown, index) => parseCommand(item, `command ${index + 1}`));
}

function assertSupported(command: RedisCommand, where: string): void {
  if (BLOCKING.has(command.name) || isBlockingStreamRead(command)) {
    throw new RequestError(400, `ERR ${where}: ${command.name} blocks and is not supported over REST; use a non-blocking variant`);
  }
  if (CONNECTION_STATE.has(command.name)) {
    throw new RequestError(400, `ERR ${where}: ${command.name} is not supported over REST (it needs a connection of its own)`);
  }
}

function isBlockingStreamRead(command: RedisCommand): boolean {
  if (command.name !== 'XREAD' && command.name !== 'XREADGROUP') return false;
  // Options come before STREAMS; after it are key names and ids, where "block" may be a key.
  for (const arg of command.args) {
    const upper = arg.toUpperCase();
    if (upper === 'STREAMS') return false;
    if (upper === 'BLOCK') return true;
  }
  return false;
}
