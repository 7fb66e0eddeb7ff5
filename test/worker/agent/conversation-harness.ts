// A whole conversation in this process, on the console transport's virtual clock: the real engine (turns, barge-in,
// history), the real OpenAI and ElevenLabs adapters through their SDKs against the fake vendors, a silent input WAV,
// and a scripted VAD and STT that say when the caller speaks and what they said. What the tests read: the fakes'
// recorded requests, the transport's recorded states, the history.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HistoryMessage, ProviderOutcome } from '../../../functions/contract.ts';
import { Conversation } from '../../../worker/agent/conversation.ts';
import type { ConversationOptions } from '../../../worker/agent/types.ts';
import { StreamResampler } from '../../../worker/audio/resample.ts';
import { BreakerRegistry } from '../../../worker/fallback/breaker.ts';
import { TtsChain } from '../../../worker/fallback/tts-chain.ts';
import type { SttProvider } from '../../../worker/providers/types.ts';
import { buildProviders } from '../../../worker/providers/registry.ts';
import { createFileTransport, type FileTransport } from '../../../worker/transport/file.ts';
import { startFakeElevenLabs } from '../../fakes/elevenlabs.ts';
import type { FakeServer } from '../../fakes/kit/server.ts';
import { startFakeOpenAI } from '../../fakes/openai.ts';
import { writeWav } from '../transport/wav-fixture.ts';
import { ScriptedVad, type SpeechSpan } from './scripted-vad.ts';

export { ScriptedVad, type SpeechSpan };

export interface Vendors {
  openai: FakeServer;
  elevenlabs: FakeServer;
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startVendors(): Promise<Vendors> {
  const [openai, elevenlabs] = await Promise.all([startFakeOpenAI({ profile: 'instant' }), startFakeElevenLabs({ profile: 'instant' })]);
  return {
    openai,
    elevenlabs,
    env: {
      OPENAI_API_KEY: 'fake-openai-key',
      OPENAI_BASE_URL: `${openai.url}/v1`,
      ELEVENLABS_API_KEY: 'fake-elevenlabs-key',
      ELEVENLABS_BASE_URL: elevenlabs.url,
    },
    close: async () => {
      await Promise.allSettled([openai.close(), elevenlabs.close()]);
    },
  };
}

/** The texts ElevenLabs was asked to speak, in order. */
export function ttsTexts(fake: FakeServer): string[] {
  return fake.requests.filter((r) => r.route === 'tts').map((r) => (JSON.parse(r.bodyText ?? '{}') as { text: string }).text);
}

export interface ConversationRun {
  transport: FileTransport;
  history: readonly HistoryMessage[];
  outcomes: ProviderOutcome[];
}

export interface RunOptions {
  vendors: Vendors;
  /** Length of the caller's (silent) input; the run ends when it has played. */
  inputMs: number;
  speech: SpeechSpan[];
  /** The STT's transcript of each utterance (the last one repeats). */
  transcripts: string[];
  /** 10 plays the timeline ten times faster than real time. */
  speed?: number;
  llmMaxTokens?: number;
  onFrame?(atMs: number, conversation: Conversation, transport: FileTransport): void;
  /** Replaces the scripted STT. */
  stt?: SttProvider;
  /** Sees the transport before the conversation is built on it (the leak test wraps its timers and listeners). */
  instrument?(transport: FileTransport): void;
}

/** A streaming STT that answers the next transcript once the utterance's audio ends. */
export function scriptedTranscripts(transcripts: string[]): SttProvider {
  let n = 0;
  return {
    modality: 'stt',
    name: 'deepgram',
    streaming: true,
    async *transcribe(request, signal) {
      for await (const frame of request.audio) {
        signal.throwIfAborted();
        void frame;
      }
      yield { type: 'final', text: transcripts[Math.min(n++, transcripts.length - 1)]!, speechFinal: true };
    },
  };
}

export async function runConversation(o: RunOptions): Promise<ConversationRun> {
  const dir = mkdtempSync(join(tmpdir(), 'conversation-'));
  try {
    const inputPath = writeWav(join(dir, 'in.wav'), [new Int16Array(16 * o.inputMs)], 16_000);
    const transport = createFileTransport({ inputPath, outputPath: join(dir, 'out.wav'), speed: o.speed ?? 10 });
    const chains = buildProviders(o.vendors.env, { stt: [], llm: ['openai'], tts: ['elevenlabs'] }, { info: () => undefined, warn: () => undefined });
    const breakers = new BreakerRegistry();
    const outcomes: ProviderOutcome[] = [];
    const history: HistoryMessage[] = [];
    const silent = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };
    const options: ConversationOptions = {
      transport,
      stt: { links: [{ name: 'deepgram', provider: o.stt ?? scriptedTranscripts(o.transcripts) }], breakers },
      llm: { links: chains.llm, breakers },
      tts: new TtsChain({ links: chains.tts, breakers, onOutcome: (x) => outcomes.push(x) }),
      resampler: (from, to) => {
        const r = new StreamResampler(from, to);
        return { process: (pcm) => r.push(pcm) };
      },
      report: { record: (x) => outcomes.push(x), recordTurn: () => undefined, appendHistory: (m) => history.push(...m) },
      log: silent,
      systemPrompt: 'You are a test.',
      llmMaxTokens: o.llmMaxTokens ?? 300,
      greeting: '',
      historyMax: 100,
      bargeInMinMs: 400,
      vadPreRollMs: 0,
      earlyEndSilenceMs: 200,
      endOfTurnSilenceMs: 300,
      idlePromptMs: 0,
      idlePromptText: 'Still there?',
      apologyText: 'Sorry.',
    };
    o.instrument?.(transport);
    let conversation: Conversation | undefined;
    const vad = new ScriptedVad(o.speech, 300, (atMs) => o.onFrame?.(atMs, conversation!, transport));
    conversation = new Conversation(options, vad);
    await transport.start();
    await conversation.run(new AbortController().signal);
    await transport.close();
    return { transport, history, outcomes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
