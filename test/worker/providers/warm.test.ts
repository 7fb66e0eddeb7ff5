// Warm connections at session start, through the REAL SDKs against the fakes, counted as TCP connections at each
// fake: the session's first STT, LLM and TTS requests open none of their own; only the first provider of each chain
// is warmed, a vendor once; a failed or stalled warm-up costs nothing and hangs nothing; when the caller speaks
// (rewarm), a vendor idle long enough for its connection to lapse is warmed again, never while its own request runs,
// and nothing is sent on a timer; a speculative request gets a spare connection beside it, which the request that
// follows its drop uses.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeAnthropic, type FakeAnthropic } from '../../fakes/anthropic.ts';
import { startFakeDeepgram, type FakeDeepgram } from '../../fakes/deepgram.ts';
import { startFakeElevenLabs, type FakeElevenLabs } from '../../fakes/elevenlabs.ts';
import { startFakeGroq, type FakeGroq } from '../../fakes/groq.ts';
import { startFakeOpenAI, type FakeOpenAI } from '../../fakes/openai.ts';
import type { FakeServer } from '../../fakes/kit/server.ts';
import { waitFor } from '../../support/wait.ts';
import { buildProviders, type ProviderChains, type ProviderOrderInput } from '../../../worker/providers/registry.ts';
import type { LlmProvider, SttProvider, TtsProvider } from '../../../worker/providers/types.ts';
import { keepFirstProvidersWarm, type WarmOptions, type Warmth } from '../../../worker/providers/warm.ts';

const SAMPLE_RATE = 16_000;
const DEFAULT_ORDER: ProviderOrderInput = { stt: ['deepgram', 'openai'], llm: ['openai', 'anthropic', 'groq'], tts: ['elevenlabs', 'openai'] };

interface Fakes {
  openai: FakeOpenAI;
  anthropic: FakeAnthropic;
  groq: FakeGroq;
  deepgram: FakeDeepgram;
  elevenlabs: FakeElevenLabs;
}

// Fresh fakes (fresh ports) for every test: fetch's pool is per origin and lives as long as the test process, so
// a connection pooled by one test can never be counted by the next.
let fakes: Fakes;
let sessions: Array<{ chains: ProviderChains; warmth: Warmth }>;
let logged: Array<{ level: string; obj: Record<string, unknown>; msg: string | undefined }>;

const log = {
  debug: (obj: object, msg?: string) => logged.push({ level: 'debug', obj: obj as Record<string, unknown>, msg }),
  info: (obj: object, msg?: string) => logged.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
  warn: (obj: object, msg?: string) => logged.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
};

beforeEach(async () => {
  logged = [];
  sessions = [];
  const [openai, anthropic, groq, deepgram, elevenlabs] = await Promise.all([
    startFakeOpenAI(),
    startFakeAnthropic(),
    startFakeGroq(),
    startFakeDeepgram(),
    startFakeElevenLabs(),
  ]);
  fakes = { openai, anthropic, groq, deepgram, elevenlabs };
});

afterEach(async () => {
  for (const s of sessions) s.warmth.stop();
  await Promise.allSettled(sessions.flatMap((s) => [...s.chains.stt, ...s.chains.tts]).map((l) => l.provider.close?.()));
  await Promise.all(Object.values(fakes).map((f: FakeServer) => f.close()));
});

function session(order: ProviderOrderInput = DEFAULT_ORDER, options: Partial<WarmOptions> = {}): { chains: ProviderChains; warmth: Warmth } {
  const env = {
    OPENAI_API_KEY: 'sk-test',
    OPENAI_BASE_URL: `${fakes.openai.url}/v1`,
    ANTHROPIC_API_KEY: 'sk-ant-test',
    ANTHROPIC_BASE_URL: fakes.anthropic.url,
    GROQ_API_KEY: 'gsk-test',
    GROQ_BASE_URL: fakes.groq.url,
    DEEPGRAM_API_KEY: 'dg-test',
    DEEPGRAM_BASE_URL: fakes.deepgram.url,
    ELEVENLABS_API_KEY: 'xi-test',
    ELEVENLABS_BASE_URL: fakes.elevenlabs.url,
  };
  const chains = buildProviders(env, order, log);
  const warmth = keepFirstProvidersWarm(chains, { stt: { sampleRate: SAMPLE_RATE, language: 'en' }, log, ...options });
  sessions.push({ chains, warmth });
  return { chains, warmth };
}

const routes = (fake: FakeServer) => fake.requests.map((r) => r.route);
const debugLines = (msg: string) => logged.filter((l) => l.msg === msg);

async function answer(llm: LlmProvider): Promise<string> {
  let text = '';
  for await (const ev of llm.stream({ system: 'Be brief.', messages: [{ role: 'user', text: 'hi' }] }, AbortSignal.timeout(5_000))) {
    if (ev.type === 'text') text += ev.text;
  }
  return text;
}

async function speak(tts: TtsProvider): Promise<number> {
  let samples = 0;
  for await (const pcm of tts.synthesize({ text: 'Hello there.' }, AbortSignal.timeout(5_000))) samples += pcm.length;
  return samples;
}

/** A 440 Hz burst, then enough silence for the fake's endpointing. */
async function* utterance(): AsyncGenerator<Int16Array> {
  const pcm = new Int16Array(SAMPLE_RATE);
  for (let i = 0; i < SAMPLE_RATE * 0.6; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / SAMPLE_RATE));
  for (let offset = 0; offset < pcm.length; offset += 320) yield pcm.subarray(offset, offset + 320);
}

async function transcribe(stt: SttProvider): Promise<string> {
  let text = '';
  for await (const ev of stt.transcribe({ audio: utterance(), sampleRate: SAMPLE_RATE, language: 'en' }, AbortSignal.timeout(5_000))) {
    if (ev.type === 'final') text += ev.text;
  }
  return text;
}

describe('keepFirstProvidersWarm', () => {
  it("opens the first providers' connections at session start: the first utterance, answer and speech open none", async () => {
    const { chains, warmth } = session();
    await warmth.ready;
    expect(routes(fakes.openai)).toEqual(['models']);
    expect(routes(fakes.elevenlabs)).toEqual(['models']);
    expect(routes(fakes.deepgram)).toEqual(['listen']);
    const opened = { openai: fakes.openai.connections, elevenlabs: fakes.elevenlabs.connections, deepgram: fakes.deepgram.connections };
    expect(opened).toEqual({ openai: 1, elevenlabs: 1, deepgram: 1 });

    expect(await transcribe(chains.stt[0]!.provider)).not.toBe('');
    expect(await answer(chains.llm[0]!.provider)).toMatch(/interesting/);
    expect(await speak(chains.tts[0]!.provider)).toBeGreaterThan(0);

    expect({ openai: fakes.openai.connections, elevenlabs: fakes.elevenlabs.connections, deepgram: fakes.deepgram.connections }).toEqual(opened);
    expect(routes(fakes.openai)).toEqual(['models', 'chat']);
    expect(routes(fakes.elevenlabs)).toEqual(['models', 'tts']);
    expect(routes(fakes.deepgram)).toEqual(['listen']); // the utterance went into the warm socket
    // Backups are left alone until they are needed.
    expect(fakes.anthropic.connections + fakes.groq.connections).toBe(0);
    expect(debugLines('provider connection warmed').map((l) => l.obj.provider).sort()).toEqual(['deepgram', 'elevenlabs', 'openai']);
  });

  it('warms each vendor once, whatever chains name it first, and every SDK finds its model list', async () => {
    const { warmth } = session({ stt: ['openai'], llm: ['openai', 'groq'], tts: ['openai', 'elevenlabs'] });
    await warmth.ready;
    expect(routes(fakes.openai)).toEqual(['models']);
    expect(fakes.groq.connections + fakes.elevenlabs.connections + fakes.deepgram.connections).toBe(0);

    const other = session({ stt: ['deepgram'], llm: ['anthropic'], tts: ['elevenlabs'] });
    await other.warmth.ready;
    expect(routes(fakes.anthropic)).toEqual(['models']);
    const groq = session({ stt: ['deepgram'], llm: ['groq'], tts: ['elevenlabs'] });
    await groq.warmth.ready;
    expect(routes(fakes.groq)).toEqual(['models']);
    expect(debugLines('provider warm-up failed')).toEqual([]);
  });

  it('a failed warm-up is logged at debug and costs nothing else: the first requests still succeed', async () => {
    fakes.openai.faults.push({ kind: 'status', status: 500, route: 'models' });
    fakes.elevenlabs.faults.push({ kind: 'reset', route: 'models' });
    fakes.deepgram.faults.push({ kind: 'rejectHandshake', status: 401, route: 'listen' });
    const { chains, warmth } = session();
    await warmth.ready;
    expect(debugLines('provider warm-up failed').map((l) => l.obj.provider).sort()).toEqual(['deepgram', 'elevenlabs', 'openai']);
    expect(logged.filter((l) => l.level !== 'debug')).toEqual([]);

    expect(await transcribe(chains.stt[0]!.provider)).not.toBe('');
    expect(await answer(chains.llm[0]!.provider)).toMatch(/interesting/);
    expect(await speak(chains.tts[0]!.provider)).toBeGreaterThan(0);
    expect(routes(fakes.deepgram)).toEqual(['listen', 'listen']);
  });

  it('gives up on a vendor that does not answer within the bound, and stop() ends what is in flight', async () => {
    fakes.openai.faults.push({ kind: 'delayHeaders', ms: 30_000, route: 'models' });
    fakes.deepgram.faults.push({ kind: 'delayHeaders', ms: 30_000, route: 'listen' });
    const { warmth } = session(DEFAULT_ORDER, { timeoutMs: 200 });
    await warmth.ready;
    expect(debugLines('provider warm-up failed').map((l) => l.obj.provider).sort()).toEqual(['deepgram', 'openai']);
    await waitFor('the abandoned model-list request to be closed', () => fakes.openai.requests[0]?.clientAborted);

    fakes.elevenlabs.faults.push({ kind: 'delayHeaders', ms: 30_000, route: 'models' });
    const stalled = session({ stt: ['deepgram'], llm: ['groq'], tts: ['elevenlabs'] }, { timeoutMs: 30_000 });
    const held = () => fakes.elevenlabs.requests.find((r) => r.fault === 'delayHeaders');
    await waitFor('the warm-up to reach ElevenLabs', held);
    stalled.warmth.stop();
    await stalled.warmth.ready;
    await waitFor('the stopped warm-up to be closed', () => held()?.clientAborted);
  });

  it('rewarm warms only a vendor idle long enough to have lapsed, never while its request runs, and nothing runs on a timer', async () => {
    const { chains, warmth } = session(DEFAULT_ORDER, { staleAfterMs: 300 });
    await warmth.ready;
    const models = (fake: FakeServer) => fake.requests.filter((r) => r.route === 'models').length;
    // Just warmed: the caller speaking now costs the vendors nothing.
    await warmth.rewarm();
    expect([models(fakes.openai), models(fakes.elevenlabs)]).toEqual([1, 1]);
    // Idle past the limit, with no caller speech: nobody is asked anything.
    await new Promise((r) => setTimeout(r, 400));
    expect([models(fakes.openai), models(fakes.elevenlabs)]).toEqual([1, 1]);
    // The caller speaks: both first vendors are warmed again, on their pooled connections; the backups are not.
    await warmth.rewarm();
    expect([models(fakes.openai), models(fakes.elevenlabs)]).toEqual([2, 2]);
    expect([fakes.openai.connections, fakes.elevenlabs.connections]).toEqual([1, 1]);
    expect(fakes.anthropic.connections + fakes.groq.connections).toBe(0);
    // Deepgram's socket is held open by its KeepAlives: no second listen.
    expect(routes(fakes.deepgram)).toEqual(['listen']);

    // An answer that stalls for 600 ms holds the connection: speech meanwhile warms nothing of OpenAI's.
    await new Promise((r) => setTimeout(r, 400));
    fakes.openai.faults.push({ kind: 'stallAfter', chunks: 2, ms: 600, route: 'chat' });
    const answering = answer(chains.llm[0]!.provider);
    await waitFor('the answer to start', () => fakes.openai.requests.some((r) => r.route === 'chat'));
    await warmth.rewarm();
    expect(models(fakes.openai)).toBe(2);
    expect(models(fakes.elevenlabs)).toBe(3);
    expect(await answering).toMatch(/interesting/);
    // OpenAI was just used: fresh again (ElevenLabs, warmed 600 ms ago, is not).
    await warmth.rewarm();
    expect([models(fakes.openai), models(fakes.elevenlabs)]).toEqual([2, 4]);

    warmth.stop();
    await new Promise((r) => setTimeout(r, 400));
    await warmth.rewarm();
    expect([models(fakes.openai), models(fakes.elevenlabs)]).toEqual([2, 4]);
  });

  // The preemptive answer is dropped in the same moment as the turn's answer is asked for, so the answer finds only the
  // connections already open: undici opens a new one after an aborted stream, but not in time for it.
  async function dropThenAnswer(speculative: boolean): Promise<{ onOpenConnection: boolean[]; spares: number[] }> {
    const { chains, warmth } = session();
    await warmth.ready;
    await new Promise((r) => setTimeout(r, 100)); // fetch pools the warm-up's socket a moment after its response
    const llm = chains.llm[0]!.provider;
    const tts = chains.tts[0]!.provider;
    // Both stall before their first chunk, as when the caller's final words come while the model is still thinking.
    fakes.openai.faults.push({ kind: 'delayFirstChunk', ms: 2_000, route: 'chat' });
    fakes.elevenlabs.faults.push({ kind: 'delayFirstChunk', ms: 2_000, route: 'tts' });
    const drop = new AbortController();
    const dropped = [
      (async () => {
        for await (const _ of llm.stream({ system: 'Be brief.', messages: [{ role: 'user', text: 'hi' }], speculative }, drop.signal));
      })(),
      (async () => {
        for await (const _ of tts.synthesize({ text: 'Hello there.', speculative }, drop.signal));
      })(),
    ];
    await waitFor('the dropped requests to be heard', () => fakes.openai.requests.some((r) => r.route === 'chat') && fakes.elevenlabs.requests.some((r) => r.route === 'tts'));
    await new Promise((r) => setTimeout(r, 200));
    const openBefore = [fakes.openai.connections, fakes.elevenlabs.connections];
    drop.abort(new Error('the caller went on'));
    const answered = Promise.all([answer(llm), speak(tts)]);
    await Promise.allSettled(dropped);
    const [text, samples] = await answered;
    expect(text).toMatch(/interesting/);
    expect(samples).toBeGreaterThan(0);
    // On a connection already open before the drop, and not the dropped request's (which the abort destroyed).
    const onOpen = (fake: FakeServer, route: string, open: number) => {
      const [droppedOne, answerOne] = fake.requests.filter((r) => r.route === route);
      return droppedOne!.clientAborted && answerOne!.connection <= open && answerOne!.connection !== droppedOne!.connection;
    };
    const models = (fake: FakeServer) => fake.requests.filter((r) => r.route === 'models').length;
    return {
      onOpenConnection: [onOpen(fakes.openai, 'chat', openBefore[0]!), onOpen(fakes.elevenlabs, 'tts', openBefore[1]!)],
      spares: [models(fakes.openai) - 1, models(fakes.elevenlabs) - 1],
    };
  }

  it('a speculative request gets a spare connection beside it: the answer asked as it is dropped goes out on it', async () => {
    expect(await dropThenAnswer(true)).toEqual({ onOpenConnection: [true, true], spares: [1, 1] });
  });

  it('without the spare (an answer for a confirmed turn warms none), the answer after a drop waits for a new connection', async () => {
    expect(await dropThenAnswer(false)).toEqual({ onOpenConnection: [false, false], spares: [0, 0] });
  });

  it("a vendor idle past fetch's limit is warmed again when the caller speaks: the answer then opens no connection", async () => {
    // The fakes' node:http servers say Keep-Alive: timeout=5, which fetch (undici) turns into 3 s of idle life.
    const second = await startFakeOpenAI();
    const llmOf = (fake: FakeOpenAI) => {
      const chains = buildProviders({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: `${fake.url}/v1` }, { stt: [], llm: ['openai'], tts: [] }, log);
      const warmth = keepFirstProvidersWarm(chains, { stt: { sampleRate: SAMPLE_RATE }, log });
      sessions.push({ chains, warmth });
      return { llm: chains.llm[0]!.provider, warmth };
    };
    try {
      const spoken = llmOf(fakes.openai);
      const silent = llmOf(second);
      await Promise.all([spoken.warmth.ready, silent.warmth.ready]);
      await new Promise((r) => setTimeout(r, 3_600));
      // The caller speaks to one session: its lapsed connection is opened again before the answer is asked for.
      await spoken.warmth.rewarm();
      expect(fakes.openai.connections).toBe(2);
      expect(second.connections).toBe(1);
      // The caller's words take longer than this; fetch gives the warm-up's socket back to its pool a moment after the
      // response was read.
      await new Promise((r) => setTimeout(r, 100));
      await Promise.all([answer(spoken.llm), answer(silent.llm)]);
      expect(fakes.openai.connections).toBe(2);
      // Without it, the answer itself paid for a new connection.
      expect(second.connections).toBe(2);
    } finally {
      await second.close();
    }
  });
});
