// Shared by the fault-matrix tests: the five fake vendors, the chains built the way the worker builds them (the
// registry, from an environment pointing every *_BASE_URL at a fake), outcome records checked against the contract,
// and a hand-driven clock for the breakers so cool-downs and retry-after are exact instead of slept through.
import { expect } from 'vitest';
import { providerOutcomeSchema, type ProviderOutcome } from '../../functions/contract.ts';
import { createLogger } from '../../worker/log.ts';
import { buildProviders, type ProviderChains, type ProviderOrderInput } from '../../worker/providers/registry.ts';
import { startFakeAnthropic } from '../fakes/anthropic.ts';
import { startFakeDeepgram } from '../fakes/deepgram.ts';
import { startFakeElevenLabs } from '../fakes/elevenlabs.ts';
import { startFakeGroq } from '../fakes/groq.ts';
import { closedPort, type FakeServer, type RecordedRequest } from '../fakes/kit/server.ts';
import { startFakeOpenAI } from '../fakes/openai.ts';
import { waitFor } from '../support/wait.ts';

export type Vendor = 'openai' | 'anthropic' | 'groq' | 'deepgram' | 'elevenlabs';

export type VendorFakes = Record<Vendor, FakeServer> & {
  /** http://127.0.0.1:<port> where nothing listens: "connection refused". */
  refusedUrl: string;
  reset(): void;
  close(): Promise<void>;
};

/** Every fake vendor, on the 'instant' profile. Deepgram's idle timeout is short so stray sockets die quickly. */
export async function startVendorFakes(): Promise<VendorFakes> {
  const [openai, anthropic, groq, deepgram, elevenlabs, port] = await Promise.all([
    startFakeOpenAI(),
    startFakeAnthropic(),
    startFakeGroq(),
    startFakeDeepgram({ idleTimeoutMs: 2_000 }),
    startFakeElevenLabs(),
    closedPort(),
  ]);
  const all = { openai, anthropic, groq, deepgram, elevenlabs };
  return {
    ...all,
    refusedUrl: `http://127.0.0.1:${port}`,
    reset: () => Object.values(all).forEach((fake) => fake.reset()),
    close: async () => {
      await Promise.all(Object.values(all).map((fake) => fake.close()));
    },
  };
}

/**
 * The worker's provider environment with every host at its fake and dummy keys; vendors in `down` point at a port
 * where nothing listens.
 */
export function fakeEnv(fakes: VendorFakes, down: readonly Vendor[] = []): Record<string, string> {
  const origin = (vendor: Vendor) => (down.includes(vendor) ? fakes.refusedUrl : fakes[vendor].url);
  return {
    OPENAI_API_KEY: 'sk-fault-matrix',
    ANTHROPIC_API_KEY: 'sk-ant-fault-matrix',
    GROQ_API_KEY: 'gsk-fault-matrix',
    DEEPGRAM_API_KEY: 'dg-fault-matrix',
    ELEVENLABS_API_KEY: 'el-fault-matrix',
    OPENAI_BASE_URL: `${origin('openai')}/v1`,
    ANTHROPIC_BASE_URL: origin('anthropic'),
    GROQ_BASE_URL: origin('groq'),
    DEEPGRAM_BASE_URL: origin('deepgram'),
    ELEVENLABS_BASE_URL: origin('elevenlabs'),
  };
}

const DEFAULT_ORDER: ProviderOrderInput = { stt: ['deepgram', 'openai'], llm: ['openai', 'anthropic', 'groq'], tts: ['elevenlabs', 'openai'] };

/** The chains through the production path: buildProviders with the fakes' environment. The registry logs nothing here. */
export function buildFakeChains(fakes: VendorFakes, order: Partial<ProviderOrderInput>, down: readonly Vendor[] = []): ProviderChains {
  const lines: string[] = [];
  const log = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } });
  const chains = buildProviders(fakeEnv(fakes, down), { ...DEFAULT_ORDER, ...order }, log);
  // Every key is set, so nothing may be left out (and nothing may be logged about it).
  expect(lines).toEqual([]);
  return chains;
}

export async function closeChains(chains: ProviderChains): Promise<void> {
  await Promise.all([...chains.stt, ...chains.tts].map((link) => link.provider.close?.()));
}

/** Collects outcome records, each validated against the contract the control plane reads them with. */
export function outcomeLog(): { outcomes: ProviderOutcome[]; record(outcome: ProviderOutcome): void } {
  const outcomes: ProviderOutcome[] = [];
  return {
    outcomes,
    record(outcome) {
      const parsed = providerOutcomeSchema.safeParse(outcome);
      if (!parsed.success) throw new Error(`outcome record breaks the contract: ${parsed.error.message} (${JSON.stringify(outcome)})`);
      outcomes.push(outcome);
    },
  };
}

/** [provider, ok, errorClass] of each outcome, for compact ordering assertions. */
export const outcomeSummary = (outcomes: readonly ProviderOutcome[]) => outcomes.map((o) => [o.provider, o.ok, o.errorClass]);

/** A clock the test moves by hand: breaker cool-downs and retry-after pass exactly when the test says so. */
export function manualClock(startMs = 1_000_000): { now(): number; advance(ms: number): void } {
  let nowMs = startMs;
  return { now: () => nowMs, advance: (ms) => void (nowMs += ms) };
}

/** The requests a fake received on one route. */
export const requestsOn = (fake: FakeServer, route: string): RecordedRequest[] => fake.requests.filter((r) => r.route === route);

/** The JSON body of a recorded request. */
export function jsonBody(request: RecordedRequest | undefined): Record<string, unknown> {
  if (!request?.bodyText) throw new Error('no JSON body recorded');
  return JSON.parse(request.bodyText) as Record<string, unknown>;
}

/** How the fake saw a failed request end, once the connection has closed (recorded a moment after the client left). */
export type WireEnd = 'status' | 'clientAborted' | 'serverDestroyed' | 'finished';

export async function expectWireEnd(request: RecordedRequest | undefined, end: WireEnd, status?: number): Promise<void> {
  expect(request).toBeDefined();
  const r = request!;
  switch (end) {
    case 'status':
      expect(r.status).toBe(status);
      return;
    case 'clientAborted':
      await waitFor('the fake to see the client leave', () => r.clientAborted, 2_000);
      expect(r.serverDestroyed).toBe(false);
      return;
    case 'serverDestroyed':
      expect(r.serverDestroyed).toBe(true);
      return;
    case 'finished':
      await waitFor('the fake to finish the response', () => r.finished, 2_000);
      return;
  }
}

export async function collect<T>(source: AsyncIterable<T>): Promise<{ events: T[]; error: unknown }> {
  const events: T[] = [];
  try {
    for await (const event of source) events.push(event);
    return { events, error: undefined };
  } catch (error) {
    return { events, error };
  }
}
