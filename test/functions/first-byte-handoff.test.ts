// The providers' measured first-token latency travels from one worker's metrics, through the health scores in Redis
// and the session the functions open, to the next worker's bootstrap; the worker derives its LLM hedge delay from it.
// Both ends are the real code: the worker's own control-plane client against the functions in workerd.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { providerOrderSchema, workerBootstrapSchema, workerSessionSchema } from '../../functions/contract.ts';
import { DEFAULT_HEALTH_POLICY } from '../../functions/health/policy.ts';
import { parseAgentConfig } from '../../worker/config.ts';
import { createControlPlaneClient, type ControlPlaneClient } from '../../worker/control-plane/client.ts';
import { HEDGE_DELAY, hedgeDelayFrom, llmHedgeDelays } from '../../worker/fallback/hedge-delay.ts';
import { bootstrapWorker, postWebhook, startControlPlane, type ControlPlane } from '../support/control-plane.ts';
import { signWebhook, webhookBody } from '../support/livekit.ts';
import { waitFor } from '../support/wait.ts';

let cp: ControlPlane;

/** A caller joins `room`; returns what its worker was launched with. */
async function launchEnv(room: string): Promise<Record<string, string>> {
  const body = webhookBody({ event: 'participant_joined', room: { name: room }, participant: { identity: `caller-${room}` } });
  const res = await postWebhook(cp.fn, body, await signWebhook(body));
  const { sessionId } = (await res.json()) as { sessionId: string };
  return (await waitFor(`the worker for ${room}`, () => cp.workerEnvs().find((w) => w.env.SESSION_ID === sessionId))).env;
}

/** A caller joins `room`; the worker launched for it trades its bootstrap credential as a real worker does. */
async function launch(room: string): Promise<{ client: ControlPlaneClient; boot: Awaited<ReturnType<ControlPlaneClient['bootstrap']>> }> {
  const env = await launchEnv(room);
  const client = createControlPlaneClient({ functionsUrl: cp.fn.url });
  const boot = await client.bootstrap(env.WORKER_BOOTSTRAP_TOKEN!);
  return { client, boot };
}

/** The health script's averages, recomputed: the first sample seeds the mean, the deviation starts at the second. */
function expected(samples: number[]): { ewmaMs: number; deviationMs: number } {
  const a = DEFAULT_HEALTH_POLICY.ewmaAlpha;
  let mean = samples[0]!;
  let deviation: number | undefined;
  for (const s of samples.slice(1)) {
    deviation = deviation === undefined ? Math.abs(s - mean) : a * Math.abs(s - mean) + (1 - a) * deviation;
    mean = a * s + (1 - a) * mean;
  }
  return { ewmaMs: mean, deviationMs: deviation! };
}

beforeAll(async () => {
  cp = await startControlPlane({ WORKER_RATE_LIMIT_PER_MINUTE: '40' });
});
afterAll(async () => {
  await cp?.close();
});

describe('first-token latency from the health scores to the next worker', () => {
  it('is absent on a fresh deployment: the worker hedges after its default', async () => {
    const { boot } = await launch('fresh-room');
    expect(boot.session.providers.llm).toEqual(['openai', 'anthropic', 'groq']);
    expect(boot.session.providers.firstByte).toBeUndefined();
    const delays = llmHedgeDelays(parseAgentConfig({}), boot.session.providers);
    expect(delays.afterMs('openai')).toBe(HEDGE_DELAY.unmeasuredMs);
  });

  it('reaches the next worker as measured, and the hedge delay follows it', async () => {
    const { client } = await launch('measuring-room');
    const openaiTtfb = [240, 262, 251, 270, 248];
    const anthropicTtfb = [610, 590];
    await client.postMetrics({
      outcomes: [
        ...openaiTtfb.map((ttfbMs) => ({ modality: 'llm' as const, provider: 'openai', ok: true, ttfbMs, durationMs: ttfbMs + 400 })),
        ...anthropicTtfb.map((ttfbMs) => ({ modality: 'llm' as const, provider: 'anthropic', ok: true, ttfbMs, durationMs: ttfbMs + 400 })),
        // A failure brings no first token: it must not move the latency.
        { modality: 'llm' as const, provider: 'openai', ok: false, errorClass: 'timeout' as const, durationMs: 4_000 },
        { modality: 'tts' as const, provider: 'elevenlabs', ok: true, ttfbMs: 120, durationMs: 900 },
      ],
    });

    const next = await launch('next-room');
    const { boot } = next;
    const firstByte = boot.session.providers.firstByte;
    const openai = expected(openaiTtfb);
    const anthropic = expected(anthropicTtfb);
    expect(firstByte?.llm?.openai).toEqual({ ewmaMs: Math.round(openai.ewmaMs), deviationMs: Math.round(openai.deviationMs), samples: 5 });
    expect(firstByte?.llm?.anthropic).toEqual({ ewmaMs: Math.round(anthropic.ewmaMs), deviationMs: Math.round(anthropic.deviationMs), samples: 2 });
    // One sample: a mean, no spread yet.
    expect(firstByte?.tts?.elevenlabs).toEqual({ ewmaMs: 120, samples: 1 });
    // Providers never measured are left out, not sent as zeros.
    expect(firstByte?.llm?.groq).toBeUndefined();
    expect(firstByte?.stt).toBeUndefined();

    // GET /v1/worker/session carries the same order, measurements included (a worker that reloads its session).
    expect((await next.client.getSession()).providers).toEqual(boot.session.providers);

    const delays = llmHedgeDelays(parseAgentConfig({}), boot.session.providers);
    const openaiDelay = delays.afterMs('openai')!;
    expect(openaiDelay).toBe(hedgeDelayFrom({ meanMs: Math.round(openai.ewmaMs), deviationMs: Math.round(openai.deviationMs) }));
    // Near the provider's usual first token, not the default and not the 4 s first-token deadline.
    expect(openaiDelay).toBeGreaterThan(openai.ewmaMs);
    expect(openaiDelay).toBeLessThan(openai.ewmaMs + 60);
    expect(delays.afterMs('anthropic')).toBeGreaterThan(600);
    expect(delays.afterMs('groq')).toBe(HEDGE_DELAY.unmeasuredMs);
    // The operator's settings still win.
    expect(llmHedgeDelays(parseAgentConfig({ LLM_HEDGE_AFTER_MS: '900' }), boot.session.providers).afterMs('openai')).toBe(900);
    expect(llmHedgeDelays(parseAgentConfig({ LLM_HEDGE: 'off' }), boot.session.providers).afterMs('openai')).toBeUndefined();
  });

  it('leaves a worker that predates the field working: its schema drops the measurements and keeps the order', async () => {
    const raw = await bootstrapWorker(cp.fn, await launchEnv('old-worker-room'));
    // Measured by the test above: the functions send it.
    expect(raw.session.providers.firstByte?.llm?.openai).toBeDefined();
    const olderOrder = providerOrderSchema.omit({ firstByte: true });
    const olderBootstrap = workerBootstrapSchema.extend({ session: workerSessionSchema.extend({ providers: olderOrder }) });
    const parsed = olderBootstrap.parse(raw);
    expect(parsed.session.providers).toEqual({ stt: ['deepgram', 'openai'], llm: ['openai', 'anthropic', 'groq'], tts: ['elevenlabs', 'openai'] });
  });
});
