// Section "side by side with the peers": ours, LiveKit Agents for Node (defaults and lowest latency) and Pipecat,
// one after another in this run, on this machine, against the same livekit-server, the same fake vendors with the same
// fixed delays (peers/profile.ts), the same espeak-ng questions and the same caller code. The peers are installed at
// bench time into .bench/peers/ (peers/install.ts); a peer that cannot be installed or started is reported, not hidden.
import { loadavg } from 'node:os';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { startFakes, type Fakes } from '../e2e/console-support.ts';
import { startTestLiveKit, type LiveKitServer } from '../support/livekit-server.ts';
import { liveKitAgents, ours, pipecat, type Context, type ContenderSpec } from './peers/contenders.ts';
import { emptyQuestion, makeQuestionAudio, QUESTIONS, runConversation, type ConversationResult } from './peers/conversation.ts';
import { installLiveKitAgents, installPipecat, LIVEKIT_AGENTS_PINS, PIPECAT_SPEC, REPO_ROOT, type InstallResult, type PeerRunSetup } from './peers/install.ts';
import { applyPeerProfiles, DELAY_SETS, type DelaySet, type PeerProfiles } from './peers/profile.ts';

export const peersJson = (delays: DelaySet) => join(REPO_ROOT, '.tmp', delays === 'issue10' ? 'bench-peers.json' : `bench-peers-${delays}.json`);

export interface Percentiles {
  n: number;
  p50Ms: number;
  p95Ms: number;
  minMs: number;
  maxMs: number;
}

/** Nearest rank, so every figure is one a run produced (with under 20 samples p95 is the largest). */
export function percentiles(samples: readonly (number | undefined)[]): Percentiles | undefined {
  const sorted = samples.filter((v): v is number => v !== undefined).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const rank = (p: number) => sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1]!;
  return { n: sorted.length, p50Ms: rank(50), p95Ms: rank(95), minMs: sorted[0]!, maxMs: sorted.at(-1)! };
}

export interface ContenderFigures extends ConversationResult {
  responseDelay?: Percentiles;
  /** ours / theirs at p50 and p95 (below 1: ours answers sooner). */
  ratio?: { p50: number; p95: number };
  loadAverageAtStart: number;
  skipped?: string;
}

export interface PeersReport extends PeerRunSetup {
  machine: { cores: number; loadAverage: number[] };
  questions: number;
  contenders: ContenderFigures[];
}

function figuresFor(r: ConversationResult, loadAverageAtStart: number): ContenderFigures {
  const responseDelay = percentiles(r.questions.map((q) => q.responseDelayMs));
  return { ...r, ...(responseDelay ? { responseDelay } : {}), loadAverageAtStart };
}

function skipped(spec: ContenderSpec, why: string): ContenderFigures {
  return { id: spec.id, label: spec.label, warmUp: emptyQuestion(''), questions: [], startMs: 0, loadAverageAtStart: loadavg()[0]!, skipped: why };
}

export async function runPeers(dir: string, progress: (line: string) => void, delays: DelaySet = 'issue10'): Promise<PeersReport> {
  const profiles = DELAY_SETS[delays];
  const wanted = process.env['BENCH_PEERS']?.split(',');
  progress('peers: installing LiveKit Agents and Pipecat at bench time (reused when already there)');
  const [lkInstall, pcInstall] = await Promise.all([installLiveKitAgents(progress), installPipecat(progress)]);
  progress('peers: making the spoken questions (espeak-ng, sox)');
  const audio = await makeQuestionAudio(dir);
  let fakes: Fakes | undefined;
  let livekit: LiveKitServer | undefined;
  const contenders: ContenderFigures[] = [];
  try {
    [fakes, livekit] = await Promise.all([startFakes(), startTestLiveKit({ logLevel: 'warn' })]);
    const ctx: Context = { livekit, fakes, progress };
    const specs: { spec: ContenderSpec; unavailable?: string }[] = [
      { spec: ours(ctx) },
      ...(['defaults', 'fast-vad', 'fast-stt'] as const).map((mode) => ({
        spec: liveKitAgents(ctx, mode),
        ...(lkInstall.ok ? {} : { unavailable: `npm install failed: ${lkInstall.error}` }),
      })),
      ...(['defaults', 'fast'] as const).map((mode) => ({
        spec: pipecat(ctx, mode),
        ...(pcInstall.ok ? {} : { unavailable: `pip install failed: ${pcInstall.error}` }),
      })),
      // Ours once more at the end: the machine is shared, and the two runs of ours show how much its load moved.
      { spec: { ...ours(ctx), id: 'ours-again', label: 'ours, again last' } },
    ];
    for (const { spec, unavailable } of specs) {
      if (wanted && !wanted.includes(spec.id)) continue;
      if (unavailable) {
        contenders.push(skipped(spec, unavailable));
        continue;
      }
      applyPeerProfiles(fakes, profiles); // the same delays, queues and counters for everyone
      const load = loadavg()[0]!;
      progress(`peers: ${spec.label}, ${QUESTIONS.length} questions + 1 warm-up (~70 s; load average ${load.toFixed(2)})`);
      contenders.push(figuresFor(await runConversation(ctx, spec, audio), load));
    }
  } finally {
    await livekit?.stop();
    await fakes?.close();
  }
  // The ratios use both runs of ours pooled.
  const mine = percentiles(contenders.filter((c) => c.id.startsWith('ours')).flatMap((c) => c.questions.map((q) => q.responseDelayMs)));
  for (const c of contenders) {
    if (mine && c.responseDelay) c.ratio = { p50: mine.p50Ms / c.responseDelay.p50Ms, p95: mine.p95Ms / c.responseDelay.p95Ms };
  }
  const report: PeersReport = {
    machine: { cores: (await import('node:os')).cpus().length, loadAverage: loadavg() },
    delays,
    profiles,
    versions: { livekitAgents: LIVEKIT_AGENTS_PINS, pipecat: PIPECAT_SPEC },
    installs: { livekitAgents: lkInstall, pipecat: pcInstall },
    questions: QUESTIONS.length,
    contenders,
  };
  await mkdir(dirname(peersJson(delays)), { recursive: true });
  await writeFile(peersJson(delays), `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

const ms = (v: number | undefined) => (v === undefined ? '-' : String(Math.round(v)));
const x = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(2));

export function peersTable(report: PeersReport): string {
  const install = (r: InstallResult) => (r.reused ? 'reused' : r.ok ? `${(r.ms / 1000).toFixed(0)} s` : 'FAILED');
  const lines = [
    `Peers: response delay over WebRTC, ${report.questions} spoken questions each (after one warm-up), measured by the same caller`,
    `  fakes (${report.delays}'s delays): Deepgram every message +${report.profiles.deepgram.ttfbMs} ms; LLM first token ${report.profiles.openai.ttfbMs} ms then ${report.profiles.openai.tokensPerSecond}/s; TTS first audio ${report.profiles.elevenlabs.ttfbMs} ms (no jitter)`,
    `  machine: ${report.machine.cores} cores, load average ${report.machine.loadAverage.map((l) => l.toFixed(2)).join(' / ')} (1 / 5 / 15 min) at the end; each row's load at its start in its notes`,
    `  installs: LiveKit Agents ${LIVEKIT_AGENTS_PINS['@livekit/agents']} (npm, ${install(report.installs.livekitAgents)}), ${PIPECAT_SPEC} (pip, ${install(report.installs.pipecat)})`,
    '',
    `${'contender'.padEnd(34)} ${'n'.padStart(2)} ${'p50'.padStart(6)} ${'p95'.padStart(6)} ${'min'.padStart(6)} ${'max'.padStart(6)}  ${'ours/theirs p50'.padStart(15)} ${'p95'.padStart(5)}  notes`,
    '  (ours/theirs: both runs of ours pooled, divided by the contender\'s figure; above 1 = ours answers later)',
    '-'.repeat(110),
  ];
  for (const c of report.contenders) {
    const d = c.responseDelay;
    const notes: string[] = [];
    if (c.skipped) notes.push(`not run: ${c.skipped.slice(0, 200)}`);
    if (c.error) notes.push(`error: ${c.error.slice(0, 120)}`);
    const unanswered = c.questions.filter((q) => q.responseDelayMs === undefined).length;
    if (unanswered) notes.push(`${unanswered} unanswered`);
    const talkedOver = c.questions.filter((q) => q.talkedOverMs > 0).length;
    if (talkedOver) notes.push(`${talkedOver} answers began before the question ended`);
    if (c.turns && c.turns.decisions > 0) {
      notes.push(`turn model held ${c.turns.held}/${c.turns.decisions} turns as unfinished`);
    }
    if (c.turns?.generations !== undefined) notes.push(`${c.turns.generations} LLM generations`);
    if (!c.skipped) notes.push(`warm-up ${ms(c.warmUp.responseDelayMs)} ms, load ${c.loadAverageAtStart.toFixed(1)}`);
    lines.push(
      `${c.label.padEnd(34)} ${String(d?.n ?? 0).padStart(2)} ${ms(d?.p50Ms).padStart(6)} ${ms(d?.p95Ms).padStart(6)} ${ms(d?.minMs).padStart(6)} ${ms(d?.maxMs).padStart(6)}  ${x(c.ratio?.p50).padStart(15)} ${x(c.ratio?.p95).padStart(5)}  ${notes.join('; ')}`,
    );
  }
  lines.push(`  JSON: ${peersJson(report.delays)}`);
  return lines.join('\n');
}
