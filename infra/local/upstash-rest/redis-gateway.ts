// The stand-in's one connection to redis-server: binary-safe calls, and failures sorted into "Redis said no" (the
// caller's problem, HTTP 400) and "Redis is not there" (HTTP 503, answered at once rather than queued).
import { Redis, ReplyError } from 'ioredis';
import type { RedisCommand } from './commands.ts';

/** Redis answered with an error reply (wrong type, unknown command, EXECABORT...). */
export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandError';
  }
}

/** Redis could not be reached, or the connection broke before it answered. */
export class RedisUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisUnavailableError';
  }
}

export type CommandOutcome = { result: unknown } | { error: string };

export type GatewayEvent = { event: 'redis_connected' } | { event: 'redis_disconnected'; reason: string };

export type RedisGatewayOptions = {
  redisUrl: string;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
  /** How long a request waits for the very first connection, so a stand-in started next to Redis is not refused. */
  startupWaitMs?: number;
  onEvent?: (event: GatewayEvent) => void;
};

export type RedisGateway = {
  connect(): void;
  run(command: RedisCommand): Promise<unknown>;
  pipeline(commands: RedisCommand[]): Promise<CommandOutcome[]>;
  transaction(commands: RedisCommand[]): Promise<CommandOutcome[]>;
  ping(): Promise<boolean>;
  close(): void;
};

const MAX_RECONNECT_DELAY_MS = 500;

export function createRedisGateway(options: RedisGatewayOptions): RedisGateway {
  const startupWaitMs = options.startupWaitMs ?? 2_000;
  const client = new Redis(options.redisUrl, {
    lazyConnect: true,
    // RESP2 gives the reply shapes Upstash serves (no maps, doubles as strings).
    protocol: 2,
    // A command while Redis is away fails now instead of waiting in a queue for a reconnect that may never come.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // A write that Redis may already have applied must not run twice behind the caller's back.
    autoResendUnfulfilledCommands: false,
    connectTimeout: options.connectTimeoutMs ?? 2_000,
    commandTimeout: options.commandTimeoutMs ?? 10_000,
    retryStrategy: (attempt: number) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
    disableClientInfo: true,
    connectionName: 'upstash-rest-stand-in',
  });

  const target = describeTarget(options.redisUrl);
  const classify = (error: unknown) => classifyFailure(error, target);
  let everReady = false;
  let connected = false;
  client.on('ready', () => {
    everReady = true;
    if (!connected) options.onEvent?.({ event: 'redis_connected' });
    connected = true;
  });
  // Without a listener ioredis prints every failed reconnect; one event per outage is enough.
  const onLost = (reason: string) => {
    if (connected) options.onEvent?.({ event: 'redis_disconnected', reason });
    connected = false;
  };
  client.on('error', (error: Error) => onLost(error.message));
  client.on('close', () => onLost('connection closed'));

  async function awaitFirstConnection(): Promise<void> {
    if (everReady || client.status === 'ready') return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        client.off('ready', done);
        resolve();
      };
      const timer = setTimeout(done, startupWaitMs);
      client.once('ready', done);
    });
  }

  function queue(batch: ReturnType<Redis['pipeline']>, commands: RedisCommand[]): void {
    // Names arrive upper-cased (commands.ts), which keeps ioredis from reshaping replies: its reply transformers key
    // on lower-case names (hgetall would become an object).
    for (const command of commands) batch.callBuffer(command.name, ...command.args);
  }

  return {
    connect() {
      client.connect().catch(() => {
        // Reported through the 'error' listener; the retry strategy keeps trying.
      });
    },

    async run(command) {
      await awaitFirstConnection();
      try {
        return await client.callBuffer(command.name, ...command.args);
      } catch (error) {
        throw classify(error);
      }
    },

    async pipeline(commands) {
      await awaitFirstConnection();
      const pipeline = client.pipeline();
      queue(pipeline, commands);
      return toOutcomes(await execOrThrow(pipeline, classify), classify);
    },

    async transaction(commands) {
      await awaitFirstConnection();
      const transaction = client.multi();
      queue(transaction, commands);
      const replies = await execOrThrow(transaction, classify);
      if (replies === null) throw new CommandError('EXECABORT Transaction discarded');
      return toOutcomes(replies, classify);
    },

    async ping() {
      await awaitFirstConnection();
      try {
        await client.callBuffer('PING');
        return true;
      } catch {
        return false;
      }
    },

    close() {
      client.disconnect();
    },
  };
}

type Replies = [error: Error | null, result: unknown][];

type Classify = (error: unknown) => Error;

async function execOrThrow(batch: ReturnType<Redis['pipeline']>, classify: Classify): Promise<Replies | null> {
  try {
    return await batch.exec();
  } catch (error) {
    throw classify(error);
  }
}

function toOutcomes(replies: Replies | null, classify: Classify): CommandOutcome[] {
  if (replies === null) throw classify(new Error('no reply to the batch'));
  // One lost connection spoils the whole batch: answering part of it would hide which writes happened.
  const lost = replies.find(([error]) => error !== null && !(error instanceof ReplyError));
  if (lost?.[0]) throw classify(lost[0]);
  return replies.map(([error, result]) => (error ? { error: error.message } : { result }));
}

function classifyFailure(error: unknown, target: string): Error {
  if (error instanceof ReplyError) {
    // EXEC's refusal lists the queueing errors that caused it; the caller needs those, not just "EXECABORT".
    const previous = (error as { previousErrors?: Error[] }).previousErrors ?? [];
    const reasons = previous.map((cause) => cause.message).join('; ');
    return new CommandError(reasons ? `${(error as Error).message} (${reasons})` : (error as Error).message);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new RedisUnavailableError(`redis at ${target} is unavailable: ${message}`);
}

function describeTarget(redisUrl: string): string {
  const url = new URL(redisUrl);
  return `${url.hostname}:${url.port || '6379'}`;
}
