// How each contender is started against the same livekit-server and the same fakes, and how it joins a room:
// - ours: the real media worker (`node worker/main.ts`) for one room, with a stub of the functions' worker API
//   (session, status, history, metrics) so nothing but the agent differs from a launch;
// - LiveKit Agents: its worker registers with the server (`agent.mjs start`) and LiveKit dispatches it into the room;
// - Pipecat: a Python process that joins the room with its LiveKit transport and an agent token minted here.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { mintAgentToken } from '../../../worker/transport/livekit-token.ts';
import type { Fakes } from '../../e2e/console-support.ts';
import { closedPort } from '../../fakes/kit/server.ts';
import type { LiveKitServer } from '../../support/livekit-server.ts';
import { LIVEKIT_AGENTS_DIR, pipecatPython, REPO_ROOT } from './install.ts';
import { startProcess, type PeerProcess } from './processes.ts';
import { startStubFunctions } from './stub-functions.ts';

export { SYSTEM_PROMPT } from './prompt.ts';
const START_TIMEOUT_MS = 90_000;

/** A contender running for one room; `ready` resolves once it can take the caller (before or after the caller joins). */
export interface RunningContender {
  process: PeerProcess;
  stop(): Promise<void>;
}

export interface ContenderSpec {
  id: string;
  label: string;
  /** Starts the agent for `room`; called before the caller joins. */
  start(room: string): Promise<RunningContender>;
}

export interface Context {
  livekit: LiveKitServer;
  fakes: Fakes;
  progress: (line: string) => void;
  /** The fault runs: every contender gets a secondary provider per modality, behind its own framework's failover. */
  failover?: boolean;
}

const baseEnv = () => ({ PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', LANG: 'C.UTF-8' });

/** Ours' chains: the primaries alone, or (fault runs) each with the same secondary the peers get. */
function providerOrder(failover: boolean) {
  return failover
    ? { stt: ['deepgram', 'openai'], llm: ['openai', 'groq'], tts: ['elevenlabs', 'openai'] }
    : { stt: ['deepgram'], llm: ['openai'], tts: ['elevenlabs'] };
}

export function ours(ctx: Context): ContenderSpec {
  return {
    id: 'ours',
    label: 'ours (worker/main.ts)',
    async start(room) {
      const sessionId = randomUUID();
      const order = providerOrder(ctx.failover === true);
      const functions = await startStubFunctions(ctx.livekit, room, sessionId, order);
      const proc = startProcess('ours', process.execPath, ['worker/main.ts'], {
        cwd: REPO_ROOT,
        env: {
          ...baseEnv(),
          ...ctx.fakes.env,
          ROOM: room,
          SESSION_ID: sessionId,
          FUNCTIONS_URL: functions.url,
          WORKER_BOOTSTRAP_TOKEN: functions.bootstrapToken,
          STT_PROVIDERS: order.stt.join(','),
          LLM_PROVIDERS: order.llm.join(','),
          TTS_PROVIDERS: order.tts.join(','),
          GREETING: '',
          HEALTH_PORT: '0',
          LOG_LEVEL: 'info',
        },
      });
      return {
        process: proc,
        async stop() {
          await proc.stop();
          await functions.close();
        },
      };
    },
  };
}

export type LiveKitMode = 'defaults' | 'fast-vad' | 'fast-stt';

export function liveKitAgents(ctx: Context, mode: LiveKitMode): ContenderSpec {
  return {
    id: `livekit-agents-${mode}`,
    label: `LiveKit Agents, ${{ defaults: 'defaults', 'fast-vad': 'fastest, VAD turns', 'fast-stt': 'fastest, STT turns' }[mode]}`,
    async start() {
      // Log level debug: its end-of-turn decisions (probability, chosen delay) are logged only there; the bench counts them.
      const proc = startProcess(`livekit-agents-${mode}`, process.execPath, ['agent.mjs', 'start', '--log-level', 'debug'], {
        cwd: LIVEKIT_AGENTS_DIR,
        env: {
          ...baseEnv(),
          ...ctx.fakes.env,
          LIVEKIT_URL: ctx.livekit.url,
          LIVEKIT_API_KEY: ctx.livekit.apiKey,
          LIVEKIT_API_SECRET: ctx.livekit.apiSecret,
          BENCH_PEER_MODE: mode,
          BENCH_FAILOVER: ctx.failover ? '1' : '0',
          BENCH_AGENT_HTTP_PORT: String(await closedPort()),
          NODE_ENV: 'production',
        },
      });
      // Registered with the server: from now on a new room gets this worker dispatched into it.
      ctx.progress(`  waiting for the LiveKit Agents worker to register (bounded ${START_TIMEOUT_MS / 1000} s)`);
      await proc.waitForLine(/registered worker/i, START_TIMEOUT_MS);
      return { process: proc, stop: () => proc.stop(10_000) };
    },
  };
}

export function pipecat(ctx: Context, mode: 'defaults' | 'fast'): ContenderSpec {
  return {
    id: `pipecat-${mode}`,
    label: `Pipecat, ${mode === 'defaults' ? 'defaults' : 'lowest latency'}`,
    async start(room) {
      const token = await mintAgentToken({ apiKey: ctx.livekit.apiKey, apiSecret: ctx.livekit.apiSecret, room, identity: `pipecat-${mode}`, name: 'Pipecat' });
      const proc = startProcess(`pipecat-${mode}`, pipecatPython(), [join(import.meta.dirname, 'pipecat_agent.py')], {
        cwd: join(REPO_ROOT, '.bench', 'peers'),
        env: {
          ...baseEnv(),
          ...ctx.fakes.env,
          LIVEKIT_URL: ctx.livekit.url,
          BENCH_ROOM: room,
          BENCH_TOKEN: token,
          BENCH_PEER_MODE: mode,
          BENCH_FAILOVER: ctx.failover ? '1' : '0',
          PYTHONUNBUFFERED: '1',
        },
      });
      return { process: proc, stop: () => proc.stop(8_000) };
    },
  };
}
