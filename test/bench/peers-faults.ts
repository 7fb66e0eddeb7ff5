// Section "the peers under faults": ours, LiveKit Agents (defaults) and Pipecat (defaults), each with a secondary
// provider per modality behind its own framework's failover (ours: worker/fallback; LiveKit: its FallbackAdapter;
// Pipecat: its ServiceSwitcher with the failover strategy), first healthy, then under each fault of peers/faults.ts,
// in the same room setup, with the same fakes, questions and caller as the peers section. Per question: the response
// delay, the delay added (against the same contender's healthy run, question by question), words lost and repeated
// (peers/words.ts) and whether it was answered at all.
import { cpus, loadavg } from 'node:os';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { startFakes, type Fakes } from '../e2e/console-support.ts';
import { startTestLiveKit, type LiveKitServer } from '../support/livekit-server.ts';
import { liveKitAgents, ours, pipecat, type Context, type ContenderSpec } from './peers/contenders.ts';
import { makeQuestionAudio, QUESTIONS, runConversation, type QuestionResult } from './peers/conversation.ts';
import { elevenLabsOf, FAULT_IDS, FAULT_LABELS, faultHooks, type FaultId } from './peers/faults.ts';
import { installLiveKitAgents, installPipecat, LIVEKIT_AGENTS_PINS, PIPECAT_SPEC, REPO_ROOT, type PeerRunSetup } from './peers/install.ts';
import { applyPeerProfiles, DELAY_SETS, PEER_REPLY, type DelaySet, type PeerProfiles } from './peers/profile.ts';
import { accountWords, type Spoken, type WordAccount } from './peers/words.ts';

export const faultsJson = (delays: DelaySet) =>
  join(REPO_ROOT, '.tmp', delays === 'issue10' ? 'bench-peers-faults.json' : `bench-peers-faults-${delays}.json`);
/** Fewer questions than the healthy comparison: 3 contenders × 5 runs must fit the bench's time. */
export const FAULT_QUESTIONS = QUESTIONS.slice(0, 4);

type RunKind = 'healthy' | FaultId;

export interface FaultQuestion extends QuestionResult {
  addedMs?: number;
  words: WordAccount;
}

export interface FaultRun {
  contender: string;
  label: string;
  run: RunKind;
  loadAverageAtStart: number;
  questions: FaultQuestion[];
  /** Requests the secondaries got during the run (the failover, seen from the wire). */
  secondaries: { groqChat: number; openaiSpeech: number; openaiTranscriptions: number };
  /** Requests the primary LLM got (retries and preemptive generations show here). */
  primaryLlmRequests: number;
  error?: string;
  skipped?: string;
}

export interface PeersFaultsReport extends PeerRunSetup {
  machine: { cores: number; loadAverageAtStart: number[]; loadAverageAtEnd: number[] };
  reply: string;
  runs: FaultRun[];
}

function spokenIn(fakes: Fakes, window: QuestionResult['window']): Spoken[] {
  const inWindow = (atMs: number) => atMs >= window.fromEpochMs && atMs <= window.toEpochMs;
  const primary = elevenLabsOf(fakes)
    .syntheses.filter((s) => inWindow(s.atMs))
    .map((s) => ({ atMs: s.atMs, text: s.text, sentMs: s.sentChunks >= s.chunks ? Infinity : s.sentChunks * s.chunkMs }));
  const chunkMs = fakes.openai.profile.chunkMs;
  const secondary = fakes.openai.requests
    .filter((r) => r.route === 'speech' && r.status === 200 && inWindow(r.receivedAtMs))
    .map((r) => ({
      atMs: r.receivedAtMs,
      text: String((JSON.parse(r.bodyText ?? '{}') as { input?: unknown }).input ?? ''),
      sentMs: !r.chunks || r.chunks.sent >= r.chunks.total ? Infinity : r.chunks.sent * chunkMs,
    }));
  return [...primary, ...secondary];
}

function count(fakes: Fakes) {
  return {
    groqChat: fakes.groq.requests.filter((r) => r.route === 'chat').length,
    openaiSpeech: fakes.openai.requests.filter((r) => r.route === 'speech').length,
    openaiTranscriptions: fakes.openai.requests.filter((r) => r.route === 'transcriptions').length,
  };
}

export async function runPeersFaults(dir: string, progress: (line: string) => void, delays: DelaySet = 'issue10'): Promise<PeersFaultsReport> {
  const profiles = DELAY_SETS[delays];
  const wanted = process.env['BENCH_PEERS']?.split(',');
  const wantedRuns = process.env['BENCH_FAULTS']?.split(',');
  const loadAverageAtStart = loadavg();
  progress('peers-faults: installing LiveKit Agents and Pipecat at bench time (reused when already there)');
  const [lkInstall, pcInstall] = await Promise.all([installLiveKitAgents(progress), installPipecat(progress)]);
  const audio = await makeQuestionAudio(dir);
  let fakes: Fakes | undefined;
  let livekit: LiveKitServer | undefined;
  const runs: FaultRun[] = [];
  try {
    [fakes, livekit] = await Promise.all([startFakes(), startTestLiveKit({ logLevel: 'warn' })]);
    const ctx: Context = { livekit, fakes, progress, failover: true };
    const specs: { spec: ContenderSpec; unavailable?: string }[] = [
      { spec: ours(ctx) },
      { spec: liveKitAgents(ctx, 'defaults'), ...(lkInstall.ok ? {} : { unavailable: `npm install failed: ${lkInstall.error}` }) },
      { spec: pipecat(ctx, 'defaults'), ...(pcInstall.ok ? {} : { unavailable: `pip install failed: ${pcInstall.error}` }) },
    ];
    const kinds = (['healthy', ...FAULT_IDS] as RunKind[]).filter((k) => !wantedRuns || k === 'healthy' || wantedRuns.includes(k));
    for (const { spec, unavailable } of specs) {
      if (wanted && !wanted.some((w) => spec.id.startsWith(w))) continue;
      let healthy: FaultRun | undefined;
      for (const run of kinds) {
        const base = { contender: spec.id, label: spec.label, run, loadAverageAtStart: loadavg()[0]!, questions: [], primaryLlmRequests: 0 };
        if (unavailable) {
          runs.push({ ...base, secondaries: { groqChat: 0, openaiSpeech: 0, openaiTranscriptions: 0 }, skipped: unavailable });
          continue;
        }
        applyPeerProfiles(fakes, profiles);
        progress(`peers-faults: ${spec.label}, ${run}, ${FAULT_QUESTIONS.length} questions + 1 warm-up (load ${base.loadAverageAtStart.toFixed(2)})`);
        const hooks = run === 'healthy' ? {} : faultHooks(run, fakes);
        const r = await runConversation(ctx, { ...spec, id: `${spec.id}-${run}` }, audio, { questions: FAULT_QUESTIONS, hooks });
        const questions = r.questions.map((q, i): FaultQuestion => {
          const before = healthy?.questions[i];
          const deficit = before ? before.words.delivered - before.heard.bursts : 0;
          return {
            ...q,
            ...(q.responseDelayMs !== undefined && before?.responseDelayMs !== undefined ? { addedMs: q.responseDelayMs - before.responseDelayMs } : {}),
            words: accountWords(PEER_REPLY, spokenIn(fakes!, q.window), q.heard.bursts, run === 'healthy' ? Infinity : deficit),
          };
        });
        const result: FaultRun = {
          ...base,
          questions,
          secondaries: count(fakes),
          primaryLlmRequests: fakes.openai.requests.filter((q) => q.route === 'chat').length,
          ...(r.error ? { error: r.error } : {}),
        };
        if (run === 'healthy') healthy = result;
        runs.push(result);
      }
    }
  } finally {
    await livekit?.stop();
    await fakes?.close();
  }
  const report: PeersFaultsReport = {
    machine: { cores: cpus().length, loadAverageAtStart, loadAverageAtEnd: loadavg() },
    delays,
    profiles,
    versions: { livekitAgents: LIVEKIT_AGENTS_PINS, pipecat: PIPECAT_SPEC },
    installs: { livekitAgents: lkInstall, pipecat: pcInstall },
    reply: PEER_REPLY,
    runs,
  };
  await mkdir(dirname(faultsJson(delays)), { recursive: true });
  await writeFile(faultsJson(delays), `${JSON.stringify(report, null, 2)}\n`);
  return report;
}
