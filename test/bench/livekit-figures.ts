// The LiveKit parts of the bench (`--only join`, `--only webrtc`): they run the live stack (livekit-server, the
// functions in workerd, the launcher, real workers), print their tables, and hand back every figure for the JSON file.
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { liveKitCliBinary, liveKitServerBinary } from '../../infra/local/livekit/server.ts';
import { startLiveStack } from '../support/live-stack.ts';
import type { ScenarioResult } from './console-scenarios.ts';
import { JOIN_PHASES, measureJoin, type JoinTimeline } from './livekit-join.ts';
import { runWebRtcConversation, type WebRtcTurn } from './livekit-webrtc.ts';
import { summarize, table, type Row, type Summary } from './stats.ts';

// The bench ends the FFI runtime the callers used, or it would keep the process alive.
export { dispose as disposeRtc } from '@livekit/rtc-node';

const run = promisify(execFile);
export const JOIN_ROOMS = 10;

export interface Versions {
  cpu: string;
  cores: number;
  node: string;
  livekitServer: string;
  lk: string;
}

async function versionOf(binary: string): Promise<string> {
  try {
    const { stdout } = await run(binary, ['--version'], { timeout: 10_000 });
    return stdout.trim().split(/\s+/).at(-1) ?? 'unknown';
  } catch (err) {
    return `unavailable (${err instanceof Error ? err.message : String(err)})`;
  }
}

export async function versions(): Promise<Versions> {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model.trim() ?? 'unknown CPU',
    cores: cpu.length,
    node: process.version,
    livekitServer: await versionOf(liveKitServerBinary()),
    lk: await versionOf(liveKitCliBinary()),
  };
}

export function versionsLine(v: Versions): string {
  return `versions:  livekit-server ${v.livekitServer}, lk ${v.lk}, node ${v.node}; ${v.cores} cores (${v.cpu})`;
}

export interface JoinFigures {
  rooms: JoinTimeline[];
  /** Per room, each phase's ms (the rows of the table before summarizing). */
  perRoomMs: Record<string, number>[];
  phases: Record<string, Summary | undefined>;
}

/** One warm-up room (the first start reads every module from disk), then JOIN_ROOMS measured, one at a time. */
export async function runJoinPart(progress: (line: string) => void): Promise<{ text: string; figures: JoinFigures }> {
  const stack = await startLiveStack({ bindings: { STT_PROVIDERS: 'deepgram', LLM_PROVIDERS: 'openai', TTS_PROVIDERS: 'elevenlabs' }, quietFunctions: true });
  const rooms: JoinTimeline[] = [];
  try {
    progress('join: warm-up room');
    await measureJoin(stack);
    for (let i = 0; i < JOIN_ROOMS; i++) {
      progress(`join: room ${i + 1}/${JOIN_ROOMS}`);
      rooms.push(await measureJoin(stack));
    }
  } finally {
    await stack.close();
  }
  const phases = Object.fromEntries(JOIN_PHASES.map((p) => [p.key, summarize(rooms.map((t) => p.ms(t)))]));
  const rows: Row[] = JOIN_PHASES.map((p) => ({ figure: p.figure, meaning: p.meaning, summary: phases[p.key] }));
  const text = table(`LiveKit: caller joins → agent audio track subscribed, ${rooms.length} rooms one after another (after one warm-up room)`, rows, 'p95');
  const perRoomMs = rooms.map((t) => Object.fromEntries(JOIN_PHASES.map((p) => [p.key, p.ms(t)])));
  return { text, figures: { rooms, perRoomMs, phases } };
}

export interface WebRtcFigures {
  webrtc: WebRtcTurn[];
  consoleWaveformMs: (number | undefined)[];
  consoleReportMs: (number | undefined)[];
  /** Per question, WebRTC minus console (waveform): the same fake delays, so the transport's own cost. */
  pairedDifferenceMs: (number | undefined)[];
  summaries: Record<string, Summary | undefined>;
}

export async function runWebRtcPart(dir: string, consoleRun: ScenarioResult, progress: (line: string) => void): Promise<{ text: string; figures: WebRtcFigures }> {
  progress(`webrtc: the same ${consoleRun.turns.length} questions over a real room (~50 s)`);
  const webrtc = await runWebRtcConversation(dir);
  const byQuestion = (q: number) => consoleRun.turns.find((t) => t.question === q);
  const consoleWaveformMs = webrtc.map((t) => byQuestion(t.question)?.waveformEndToEndMs);
  const consoleReportMs = webrtc.map((t) => byQuestion(t.question)?.reportEndToEndMs);
  const pairedDifferenceMs = webrtc.map((t, i) => (t.responseMs === undefined || consoleWaveformMs[i] === undefined ? undefined : t.responseMs - consoleWaveformMs[i]!));
  const summaries = {
    webrtc: summarize(webrtc.map((t) => t.responseMs)),
    consoleWaveform: summarize(consoleWaveformMs),
    consoleReport: summarize(consoleReportMs),
    pairedDifference: summarize(pairedDifferenceMs),
  };
  const rows: Row[] = [
    { figure: 'over WebRTC', meaning: 'end of the question\'s sound as the caller sent it → first loud agent audio the caller received', summary: summaries.webrtc },
    { figure: 'console (waveform)', meaning: 'the same questions through the file console: end of sound on the input WAV → first loud on the output', summary: summaries.consoleWaveform },
    { figure: 'console (report)', meaning: 'the console\'s own end-to-end (report.json endToEndMs)', summary: summaries.consoleReport },
    { figure: 'transport cost', meaning: 'per question, WebRTC minus console (waveform): same fake delays, so what the transport adds', summary: summaries.pairedDifference },
  ];
  const answered = webrtc.filter((t) => t.responseMs !== undefined).length;
  const diff = summaries.webrtc && summaries.consoleWaveform
    ? `  p50 over WebRTC − p50 console = ${Math.round(summaries.webrtc.medianMs - summaries.consoleWaveform.medianMs)} ms; p95 − p95 = ${Math.round(summaries.webrtc.p95Ms - summaries.consoleWaveform.p95Ms)} ms`
    : '  (no difference: one side measured nothing)';
  const text = `${table(`LiveKit: response delay over WebRTC vs the file console, same questions, every fake 'realistic'`, rows, 'p95')}\n${diff}\n  (${answered}/${webrtc.length} questions answered over WebRTC)`;
  return { text, figures: { webrtc, consoleWaveformMs, consoleReportMs, pairedDifferenceMs, summaries } };
}

export async function writeFigures(path: string, figures: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(figures, null, 2)}\n`);
}
