// Configuration is parsed once with zod; a bad value fails with the variable's name and never its value.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../functions/config.ts';
import { startFunctions, testBindings, type FunctionsHandle } from '../support/functions.ts';

const valid = testBindings({ UPSTASH_REDIS_REST_URL: 'http://127.0.0.1:9', UPSTASH_REDIS_REST_TOKEN: 't' });

function problemsOf(bindings: Record<string, string>): ConfigError {
  try {
    parseConfig(bindings);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig', () => {
  it('applies the documented defaults', () => {
    const config = parseConfig(valid);
    expect(config.providerPriority).toEqual({ stt: ['deepgram', 'openai'], llm: ['openai', 'anthropic', 'groq'], tts: ['elevenlabs', 'openai'] });
    expect(config.token).toEqual({ defaultTtlSeconds: 900, maxTtlSeconds: 3_600 });
    expect(config.livekit.httpUrl).toBe('http://127.0.0.1:9');
    expect(config.livekit.publicUrl).toBe(config.livekit.url);
    expect(config.clientKeys).toEqual([
      { key: 'test-app-key-1', roomPrefix: undefined },
      { key: 'test-app-key-2', roomPrefix: undefined },
    ]);
    expect(config.operatorKeys).toEqual(['test-operator-key-0001']);
    expect(config.agentTokenTtlSeconds).toBe(600);
    expect(config.maxConcurrentSessions).toBe(100);
    expect(config.livekit.webhook).toEqual({ apiKey: 'devkey', apiSecret: 'secret' });
    expect(config.launcher).toEqual({ kind: 'local', url: 'http://127.0.0.1:9', token: 'test-launcher-token-0123456789' });
  });

  it.each([
    ['WORKER_TOKEN_SECRET', 'too-short'],
    ['LLM_PROVIDERS', 'openai,bard'],
    ['RATE_LIMIT_PER_IP_PER_MINUTE', 'lots'],
    ['LIVEKIT_URL', 'ftp://example.com'],
    ['TOKEN_DEFAULT_TTL_SECONDS', '30'],
    ['LAUNCHER', 'kubernetes'],
  ])('rejects a bad %s naming it, not its value', (name, value) => {
    const err = problemsOf({ ...valid, [name]: value });
    expect(err.variables).toContain(name);
    expect(err.message).toContain(name);
    expect(err.message).not.toContain(value === 'lots' ? 'lots' : value);
  });

  it('names every missing required variable at once', () => {
    const { APP_API_KEYS: _a, UPSTASH_REDIS_REST_TOKEN: _b, ...rest } = valid;
    expect(problemsOf(rest).variables).toEqual(expect.arrayContaining(['APP_API_KEYS', 'UPSTASH_REDIS_REST_TOKEN']));
  });

  it('requires the ECS settings only when LAUNCHER=ecs', () => {
    const err = problemsOf({ ...valid, LAUNCHER: 'ecs' });
    expect(err.variables).toEqual(expect.arrayContaining(['AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'ECS_CLUSTER', 'ECS_TASK_DEFINITION', 'ECS_SUBNETS']));
    const ok = parseConfig({ ...valid, LAUNCHER: 'ecs', AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 's', ECS_CLUSTER: 'c', ECS_TASK_DEFINITION: 'td', ECS_SUBNETS: 'subnet-1, subnet-2' });
    expect(ok.launcher).toMatchObject({ kind: 'ecs', subnets: ['subnet-1', 'subnet-2'], launchType: 'FARGATE', assignPublicIp: false });
  });
});

describe('a bad configuration inside workerd', () => {
  let fn: FunctionsHandle;
  beforeAll(async () => {
    fn = await startFunctions({ ...valid, WORKER_TOKEN_SECRET: 'short-secret-value' });
  });
  afterAll(async () => {
    await fn?.dispose();
  });

  it('answers 500 naming the variable, without echoing its value', async () => {
    const res = await fn.fetch('/health');
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).toContain('WORKER_TOKEN_SECRET');
    expect(text).not.toContain('short-secret-value');
  });
});
