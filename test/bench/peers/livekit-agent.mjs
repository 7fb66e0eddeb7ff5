// A bench input, not part of our product: a LiveKit Agents for Node voice agent (Silero VAD, Deepgram, OpenAI,
// ElevenLabs plugins) pointed at our fake vendors through the plugins' documented base-URL options. The bench copies
// this file into .bench/peers/livekit-agents/ and runs it there, so every import resolves to that folder's
// node_modules (installed at bench time), never to ours. `node agent.mjs start` registers a worker with the
// livekit-server, which dispatches it into each new room (LiveKit's automatic dispatch).
//
// BENCH_PEER_MODE=defaults: the plugins and AgentSession as shipped (its default turn detector, the local audio
//   end-of-turn model; preemptive generation of the LLM, on by default).
// The two lowest-latency configurations its documented options allow, both with endpointing minDelay 0 and
// preemptive generation of the LLM and the TTS: fast-vad ends the turn on Silero's end of speech (its default
// 550 ms of silence), fast-stt on Deepgram's end of speech (the plugin's endpointing, 25 ms, the shortest).
// BENCH_FAILOVER=1 (the fault runs): each modality behind LiveKit's own FallbackAdapter, with its defaults: the LLM
// (OpenAI, then Groq through the same plugin's baseURL), the TTS (ElevenLabs, then OpenAI speech), the STT (Deepgram,
// then OpenAI's whisper-1 batch transcription, which the adapter wraps in its StreamAdapter with the Silero VAD).
// Worker options that only concern a shared 2-core machine, not latency: loadThreshold Infinity (otherwise the
// worker marks itself full above 70 % CPU and takes no job), one idle process, the health server on loopback.
import { fileURLToPath } from 'node:url';
import { cli, defineAgent, llm, ServerOptions, stt, tts, voice } from '@livekit/agents';
import * as deepgram from '@livekit/agents-plugin-deepgram';
import * as elevenlabs from '@livekit/agents-plugin-elevenlabs';
import * as openai from '@livekit/agents-plugin-openai';
import * as silero from '@livekit/agents-plugin-silero';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`bench agent: ${name} is not set`);
  return value;
};
const mode = process.env.BENCH_PEER_MODE ?? 'defaults';
const fastest = { endpointing: { minDelay: 0 }, preemptiveGeneration: { enabled: true, preemptiveTts: true } };
const modes = { defaults: undefined, 'fast-vad': { ...fastest, turnDetection: 'vad' }, 'fast-stt': { ...fastest, turnDetection: 'stt' } };
if (!(mode in modes)) throw new Error(`bench agent: unknown BENCH_PEER_MODE ${mode}`);
const turnHandling = modes[mode];
const failover = process.env.BENCH_FAILOVER === '1';

/** The three services, each alone or behind LiveKit's FallbackAdapter with a secondary on another fake. */
function services(vad) {
  const primary = {
    stt: new deepgram.STT({ apiKey: env('DEEPGRAM_API_KEY'), baseUrl: env('DEEPGRAM_BASE_URL').replace(/^http/, 'ws') }),
    llm: new openai.LLM({ apiKey: env('OPENAI_API_KEY'), baseURL: env('OPENAI_BASE_URL'), model: 'gpt-4.1-mini' }),
    tts: new elevenlabs.TTS({ apiKey: env('ELEVENLABS_API_KEY'), baseURL: `${env('ELEVENLABS_BASE_URL')}/v1` }),
  };
  if (!failover) return primary;
  const audioBase = env('OPENAI_BASE_URL');
  return {
    stt: new stt.FallbackAdapter({
      sttInstances: [primary.stt, new openai.STT({ apiKey: env('OPENAI_API_KEY'), baseURL: audioBase, useRealtime: false, model: 'whisper-1' })],
      vad,
    }),
    llm: new llm.FallbackAdapter({
      llms: [primary.llm, new openai.LLM({ apiKey: env('GROQ_API_KEY'), baseURL: `${env('GROQ_BASE_URL')}/openai/v1`, model: 'llama-3.3-70b-versatile' })],
    }),
    tts: new tts.FallbackAdapter({
      ttsInstances: [primary.tts, new openai.TTS({ apiKey: env('OPENAI_API_KEY'), baseURL: audioBase, model: 'tts-1' })],
    }),
  };
}

export default defineAgent({
  prewarm: async (proc) => {
    proc.userData.vad = await silero.VAD.load();
  },
  entry: async (ctx) => {
    const session = new voice.AgentSession({
      vad: ctx.proc.userData.vad,
      ...services(ctx.proc.userData.vad),
      ...(turnHandling ? { turnHandling } : {}),
    });
    await session.start({
      agent: new voice.Agent({ instructions: 'You are a friendly, concise voice assistant. Answer in one to three short spoken sentences.' }),
      room: ctx.room,
    });
    await ctx.connect();
    console.log(JSON.stringify({ bench: 'job_started', room: ctx.room.name, mode }));
  },
});

cli.runApp(
  new ServerOptions({
    agent: fileURLToPath(import.meta.url),
    loadThreshold: Infinity,
    numIdleProcesses: 1,
    host: '127.0.0.1',
    port: Number(env('BENCH_AGENT_HTTP_PORT')),
  }),
);
