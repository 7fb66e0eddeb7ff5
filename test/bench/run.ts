// `npm run bench` (node test/bench/run.ts): response-delay figures for the voice agent against the local fakes.
// It measures and prints; it asserts nothing about speed. Everything runs on this machine (fakes in this process,
// the console as a child process) and is removed at the end, or on Ctrl-C.
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { killConsoles, makeTempDir, removeDir } from '../e2e/console-support.ts';
import { SCENARIOS, TURNS, makeQuestionsWav, runScenario, type ScenarioResult, type TurnMeasure } from './console-scenarios.ts';
import { runControlPlaneBench, type ControlPlaneFigures } from './control-plane.ts';
import { HEDGE_AFTER_MS, HEDGE_REQUESTS, runHedging, type FirstText } from './hedging.ts';
import { peersTable, runPeers } from './peers.ts';
import { runPeersFaults } from './peers-faults.ts';
import { peersFaultsTable } from './peers-faults-table.ts';
import { DELAY_SETS, type DelaySet } from './peers/profile.ts';
import { LIMIT_CASES, type LimitCase } from './limit-cases.ts';
import { killAllPeerProcesses } from './peers/processes.ts';
import { summarize, table, type Row } from './stats.ts';
import buildFunctionsBundle from '../global-setup.ts';

const { values } = parseArgs({ options: { only: { type: 'string' }, delays: { type: 'string' }, cases: { type: 'string' } }, strict: true });
const PARTS = ['console', 'hedging', 'join', 'webrtc', 'control-plane', 'waterfall', 'density', 'peers', 'limit', 'end-of-turn', 'chunker', 'peers-faults'] as const;
type Part = (typeof PARTS)[number];
/** Run only when asked for by name: the whole bench must stay under ~25 minutes. */
const ON_REQUEST: readonly Part[] = ['peers-faults'];
const only = values.only as Part | undefined;
/** The peers sections' vendor delays: issue 10's (the default) or issue 11's. */
const delays = (values.delays ?? 'issue10') as DelaySet;
/** `--only limit --cases healthy,preemption`: some of its cases (their warm-up rooms run too). */
const limitCases = values.cases?.split(',').map((c) => c.trim()).filter(Boolean);
const badCase = limitCases?.find((c) => !(LIMIT_CASES as readonly string[]).includes(c));
if ((only !== undefined && !PARTS.includes(only)) || !(delays in DELAY_SETS) || badCase !== undefined || (limitCases !== undefined && only !== 'limit')) {
  if (badCase !== undefined) console.error(`unknown limit case "${badCase}": one of ${LIMIT_CASES.join(', ')}`);
  console.error(`usage: node test/bench/run.ts [--only ${PARTS.join('|')}] [--delays ${Object.keys(DELAY_SETS).join('|')}] [--cases <limit cases, with --only limit>]`);
  process.exit(2);
}
const runs = (part: Part) => (only === undefined && !ON_REQUEST.includes(part)) || only === part;
/** Every LiveKit figure, for reading by tools (git-ignored). */
const LIVEKIT_JSON = join(import.meta.dirname, '..', '..', '.tmp', 'bench-livekit.json');
const REPO = join(import.meta.dirname, '..', '..');
/** The waterfall's figures, its image (committed, the README shows it) and a README snippet for it. */
const WATERFALL_JSON = join(REPO, '.tmp', 'bench-waterfall.json');
const WATERFALL_SVG = join(REPO, 'docs', 'waterfall.svg');
const WATERFALL_README = join(REPO, '.tmp', 'readme-waterfall.md');
const DENSITY_JSON = join(REPO, '.tmp', 'bench-density.json');
const DENSITY_README = join(REPO, '.tmp', 'readme-density.md');
const LIMIT_JSON = join(REPO, '.tmp', 'bench-limit.json');

let dir: string | undefined;
/** The LiveKit parts, loaded only when they run (see main). */
let livekit: typeof import('./livekit-figures.ts') | undefined;

// The fakes live in this process and close with it; the console child and the temporary files need an explicit end.
async function cleanUp(): Promise<void> {
  killConsoles();
  await livekit?.disposeRtc();
  killAllPeerProcesses();
  // The peers' caller is an rtc-node participant: its native runtime keeps the process alive until disposed.
  if (runs('peers') || runs('peers-faults')) await (await import('@livekit/rtc-node')).dispose();
  await removeDir(dir);
}

process.once('SIGINT', () => {
  void cleanUp().finally(() => process.exit(130));
});

const progress = (line: string) => process.stderr.write(`… ${line}\n`);

function header(): string {
  const cpu = cpus();
  return [
    'Voice agent latency benchmark (figures in ms; median and p90 (p95 in the LiveKit tables) by nearest rank: under 10 samples p90 is the largest)',
    `machine:   ${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown CPU'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${process.platform} ${process.arch}, node ${process.version}`,
    `reproduce: npm run bench   (= node test/bench/run.ts [--only ${PARTS.join('|')}] [--delays issue10|issue11]; peers-faults runs only when named)`,
    'setup:     fake vendors on 127.0.0.1 in this process; the console (worker/console.ts) as a child process in real time;',
    '           console times move in 20 ms transport frames and the waveforms are read in 20 ms windows',
  ].join('\n');
}

const pick = (turns: readonly TurnMeasure[], key: keyof TurnMeasure) => turns.map((t) => t[key] as number | undefined);

function runNotes(r: ScenarioResult): string {
  const providers = r.turns.map((t) => t.llmProvider ?? '?').join(',');
  const notes = [`${r.turns.length}/${TURNS} questions answered`, `LLM per turn: ${providers}`, `run took ${(r.wallMs / 1000).toFixed(1)} s`];
  const interrupted = r.turns.filter((t) => t.interrupted).length;
  if (interrupted) notes.push(`${interrupted} answers interrupted (the next question came too soon)`);
  if (r.extraTurns) notes.push(`${r.extraTurns} extra turns in report.json`);
  return `  (${notes.join('; ')})`;
}

function baselineTable(r: ScenarioResult): string {
  const agreement = r.turns
    .filter((t) => t.reportEndToEndMs !== undefined && t.waveformEndToEndMs !== undefined)
    .map((t) => Math.abs(t.reportEndToEndMs! - t.waveformEndToEndMs!));
  const rows: Row[] = [
    { figure: 'end-to-end (report)', meaning: 'caller stops speaking → first agent audio (report.json endToEndMs)', summary: summarize(pick(r.turns, 'reportEndToEndMs')) },
    { figure: 'end-to-end (waveform)', meaning: 'end of the question by energy on the input WAV → first loud 20 ms on the output WAV', summary: summarize(pick(r.turns, 'waveformEndToEndMs')) },
    { figure: '|report − waveform|', meaning: 'per turn, how far the two end-to-end figures disagree', summary: summarize(agreement) },
    { figure: 'end of utterance', meaning: 'caller stops speaking (VAD) → final transcript in hand (incl. the end-of-turn silence)', summary: summarize(pick(r.turns, 'endOfUtteranceDelayMs')) },
    { figure: 'STT final latency', meaning: 'turn end decided (audio to STT closed) → final transcript (the fake\'s delay is per connection: one a run)', summary: summarize(pick(r.turns, 'sttFinalLatencyMs')) },
    { figure: 'LLM TTFT', meaning: 'answer started → first text from the LLM chain', summary: summarize(pick(r.turns, 'llmTtftMs')) },
    { figure: 'TTS TTFB', meaning: 'first sentence sent to the TTS chain → its first audio', summary: summarize(pick(r.turns, 'ttsTtfbMs')) },
  ];
  return `${table(`Scenario 1: response delay in real time, ${TURNS} spoken questions, every fake 'realistic'`, rows)}\n${runNotes(r)}`;
}

/** Per question, this scenario's end-to-end minus scenario 1's for the same question (the fakes' delays match). */
function addedMs(turns: readonly TurnMeasure[], baseline: ScenarioResult): (number | undefined)[] {
  return turns.map((t) => {
    const base = baseline.turns.find((b) => b.question === t.question)?.reportEndToEndMs;
    return t.reportEndToEndMs === undefined || base === undefined ? undefined : t.reportEndToEndMs - base;
  });
}

function failoverTable(r: ScenarioResult, baseline: ScenarioResult): string {
  const failed = r.turns.filter((t) => t.failovers > 0);
  const skipped = r.turns.filter((t) => t.failovers === 0);
  const rows: Row[] = [
    { figure: 'end-to-end, failover', meaning: 'turns that tried OpenAI first and failed over to Anthropic (report)', summary: summarize(pick(failed, 'reportEndToEndMs')) },
    { figure: '  same, waveform', meaning: 'the same turns measured on the WAVs', summary: summarize(pick(failed, 'waveformEndToEndMs')) },
    { figure: '  added delay', meaning: 'the failover\'s cost: end-to-end minus scenario 1\'s for the same question', summary: summarize(addedMs(failed, baseline)) },
    { figure: '  LLM TTFT', meaning: 'answer started → first text, from whichever LLM gave it (a stall comes after it)', summary: summarize(pick(failed, 'llmTtftMs')) },
    { figure: 'end-to-end, breaker open', meaning: 'turns after OpenAI\'s breaker opened (3 failures in a row): straight to Anthropic', summary: summarize(pick(skipped, 'reportEndToEndMs')) },
    { figure: '  added delay', meaning: 'end-to-end minus scenario 1\'s for the same question', summary: summarize(addedMs(skipped, baseline)) },
  ];
  return `${table(`Scenario 2: ${r.name}, on every request it gets (otherwise as scenario 1)`, rows)}\n${runNotes(r)}`;
}

function hedgingTable(unhedged: FirstText[], hedged: FirstText[]): string {
  const winners = (set: FirstText[]) => {
    const counts = new Map<string, number>();
    for (const f of set) counts.set(f.provider, (counts.get(f.provider) ?? 0) + 1);
    return [...counts].map(([p, n]) => `${p} ${n}`).join(', ');
  };
  const rows: Row[] = [
    { figure: 'first text, no hedge', meaning: `streamAnswer → first text; OpenAI 'slow' answers (first text from: ${winners(unhedged)})`, summary: summarize(unhedged.map((f) => f.ms)) },
    { figure: `first text, hedge ${HEDGE_AFTER_MS}`, meaning: `hedgeAfterMs ${HEDGE_AFTER_MS}: Anthropic 'realistic' starts alongside (first text from: ${winners(hedged)})`, summary: summarize(hedged.map((f) => f.ms)) },
  ];
  const a = summarize(unhedged.map((f) => f.ms));
  const b = summarize(hedged.map((f) => f.ms));
  const saved = a && b ? `  hedging saves ${Math.round(a.medianMs - b.medianMs)} ms at the median, ${Math.round(a.p90Ms - b.p90Ms)} ms at p90` : '';
  return `${table(`Scenario 3: LLM hedging in process, ${HEDGE_REQUESTS} requests each, real adapters via buildProviders`, rows)}\n${saved}`;
}

function controlPlaneTable(f: ControlPlaneFigures): string {
  const rate = (t: ControlPlaneFigures['tokens']) =>
    `${t.perSecond.toFixed(0).padStart(6)} req/s   p50 ${Math.round(t.p50Ms).toString().padStart(4)} ms   p95 ${Math.round(t.p95Ms).toString().padStart(4)} ms   failures ${t.failures}`;
  const trips = (r: ControlPlaneFigures['tokenRoundTrips']) =>
    `${r.httpPerRequest.median} HTTP round trips (min ${r.httpPerRequest.min}, max ${r.httpPerRequest.max}), ` +
    `${r.commandsPerRequest.median} Redis commands (min ${r.commandsPerRequest.min}, max ${r.commandsPerRequest.max})`;
  return [
    `Section 4: control plane in workerd (Miniflare), Redis behind the Upstash REST stand-in, ${f.tokens.requests} requests each, ${f.tokens.concurrency} at a time`,
    `  webhooks (participant_joined, each a new room: session opened + launch)  ${rate(f.webhooks)}   launches ${f.webhooks.launches}`,
    `  tokens   (POST /v1/token, rate limits on)                              ${rate(f.tokens)}`,
    `  Redis per webhook, response and launch (counted on the wire): ${trips(f.webhookRoundTrips)}`,
    `  Redis per token (counted on the wire):                        ${trips(f.tokenRoundTrips)}`,
  ].join('\n');
}

async function main(): Promise<void> {
  console.log(`${header()}\n`);
  dir = await makeTempDir('bench');
  // Scenario 1 is also the console side of the WebRTC comparison: run once, used by both.
  let baseline: ScenarioResult | undefined;
  let normalWav = '';
  if (runs('console') || runs('webrtc')) {
    progress('making the spoken questions (espeak-ng, sox)');
    normalWav = await makeQuestionsWav(dir, SCENARIOS.baseline.gapMs);
    progress('scenario 1: baseline, real time (~50 s)');
    baseline = await runScenario(SCENARIOS.baseline, normalWav, dir);
    console.log(`${baselineTable(baseline)}\n`);
  }
  if (runs('console')) {
    const stallWav = await makeQuestionsWav(dir, SCENARIOS.primaryLlmStall.gapMs);
    progress('scenario 2a: primary LLM answers 500 (~50 s)');
    const failing = await runScenario(SCENARIOS.primaryLlm500, normalWav, dir);
    progress('scenario 2b: primary LLM stalls (~70 s)');
    const stalling = await runScenario(SCENARIOS.primaryLlmStall, stallWav, dir);
    console.log(`${failoverTable(failing, baseline!)}\n`);
    console.log(`${failoverTable(stalling, baseline!)}\n`);
  }
  if (runs('control-plane')) {
    progress('building the functions bundle (wrangler deploy --dry-run)');
    await buildFunctionsBundle();
    const figures = await runControlPlaneBench({ requests: 400, concurrency: 8, samples: 10 }, progress);
    console.log(`${controlPlaneTable(figures)}\n`);
  }
  if (runs('hedging')) {
    progress(`scenario 3: hedging, ${2 * HEDGE_REQUESTS} requests (~20 s)`);
    const { unhedged, hedged } = await runHedging();
    console.log(`${hedgingTable(unhedged, hedged)}\n`);
  }
  if (runs('join') || runs('webrtc')) {
    // rtc-node logs at debug level on stdout unless NODE_ENV=production: set before it is first loaded, here.
    process.env.NODE_ENV ??= 'production';
    livekit = await import('./livekit-figures.ts');
    const { JOIN_ROOMS, runJoinPart, runWebRtcPart, versions, versionsLine, writeFigures } = livekit;
    const v = await versions();
    console.log(`${versionsLine(v)}\n`);
    const figures: Record<string, unknown> = { atIso: new Date().toISOString(), machine: v };
    // The live stack runs the functions' bundle inside workerd, built as the tests build it.
    progress('building the functions bundle (wrangler deploy --dry-run)');
    await buildFunctionsBundle();
    if (runs('join')) {
      progress(`join: ${JOIN_ROOMS + 1} rooms one after another (~2 min)`);
      const joinPart = await runJoinPart(progress);
      console.log(`${joinPart.text}\n`);
      figures.join = joinPart.figures;
    }
    if (runs('webrtc')) {
      const webrtc = await runWebRtcPart(dir, baseline!, progress);
      console.log(`${webrtc.text}\n`);
      figures.webrtc = webrtc.figures;
    }
    await writeFigures(LIVEKIT_JSON, figures);
    console.log(`every LiveKit figure: ${LIVEKIT_JSON}`);
  }
  if (runs('peers')) console.log(`${peersTable(await runPeers(dir, progress, delays))}\n`);
  if (runs('peers-faults')) console.log(`${peersFaultsTable(await runPeersFaults(dir, progress, delays))}\n`);
  if (runs('waterfall')) await waterfallPart();
  if (runs('density')) await densityPart();
  if (runs('limit')) await limitPart();
  if (runs('end-of-turn')) {
    progress('end-of-turn: the Smart Turn model and the transcript rule on espeak-ng sentences (~2 min)');
    const { runEndOfTurnBench } = await import('./end-of-turn.ts');
    console.log(`${(await runEndOfTurnBench(progress)).text}\n`);
  }
  // The chunker's figures come from token counts (no clock): its own script, run as it is run alone.
  if (runs('chunker')) console.log(execFileSync(process.execPath, [join(import.meta.dirname, 'chunker-latency.ts')], { encoding: 'utf8' }));
}

/** `--only limit`: issue 11's targets (floor + X, a stalled primary LLM's cost) over real rooms, PASS or MISS. */
async function limitPart(): Promise<void> {
  process.env.NODE_ENV ??= 'production';
  // The caller is rtc-node: loaded through the LiveKit figures so that cleanUp disposes it (else the process never exits).
  livekit ??= await import('./livekit-figures.ts');
  const { runLimit, limitTable } = await import('./limit.ts');
  progress('building the functions bundle (wrangler deploy --dry-run)');
  await buildFunctionsBundle();
  const figures = await runLimit(dir!, progress, limitCases as LimitCase[] | undefined);
  console.log(`${limitTable(figures)}\n`);
  await mkdir(join(REPO, '.tmp'), { recursive: true });
  await writeFile(LIMIT_JSON, JSON.stringify({ atIso: new Date().toISOString(), ...figures }, null, 2));
  console.log(`every limit figure: ${LIMIT_JSON}`);
}

/** `--only density`: 1, 5, 10, 20 rooms at once; CPU, memory, p95; one worker's memory by part; a Fargate size. */
async function densityPart(): Promise<void> {
  process.env.NODE_ENV ??= 'production';
  livekit ??= await import('./livekit-figures.ts');
  const { runDensity } = await import('./density.ts');
  const { densityMarkdown, densityTable } = await import('./density-report.ts');
  const v = { ...(await livekit.versions()), loadAverage: loadavg() };
  console.log(`${livekit.versionsLine(v)}\n${loadLine(v.loadAverage)}\n`);
  progress('building the functions bundle (wrangler deploy --dry-run)');
  await buildFunctionsBundle();
  progress('density: 1, 5, 10, 20 rooms at once (under 6 min)');
  const figures = await runDensity(dir!, progress);
  console.log(`${densityTable(figures)}\n`);
  await livekit.writeFigures(DENSITY_JSON, { atIso: new Date().toISOString(), machine: v, ...figures });
  await writeFile(DENSITY_README, densityMarkdown(figures));
  console.log(`every density figure: ${DENSITY_JSON}`);
}

/** Other work on the machine moves the "ours" figures: the load at the start is printed with them. */
function loadLine(load: number[]): string {
  return `load:      ${load.map((l) => l.toFixed(2)).join(' / ')} (1 / 5 / 15 min load average at the start, ${cpus().length} cores; other work on the machine inflates the "ours" figures)`;
}

/** `--only waterfall`: one real room, fixed vendor delays, the worker's turn_trace against the caller's clock. */
async function waterfallPart(): Promise<void> {
  process.env.NODE_ENV ??= 'production';
  livekit ??= await import('./livekit-figures.ts');
  const { runWaterfall, WATERFALL_TURNS } = await import('./waterfall.ts');
  const report = await import('./waterfall-report.ts');
  const v = { ...(await livekit.versions()), loadAverage: loadavg() };
  console.log(`${livekit.versionsLine(v)}\n${loadLine(v.loadAverage)}\n`);
  progress('building the functions bundle (wrangler deploy --dry-run)');
  await buildFunctionsBundle();
  progress(`waterfall: ${WATERFALL_TURNS} questions in one room (~80 s)`);
  const figures = report.waterfallFigures(await runWaterfall(dir!, progress));
  console.log(`${report.waterfallTable(figures)}\n`);
  await report.writeText(WATERFALL_SVG, report.waterfallSvg(figures));
  await report.writeText(WATERFALL_README, report.readmeSnippet(figures, 'docs/waterfall.svg'));
  await livekit.writeFigures(WATERFALL_JSON, { atIso: new Date().toISOString(), machine: v, ...figures });
  console.log(`waterfall: ${WATERFALL_SVG}, README snippet ${WATERFALL_README}, every figure ${WATERFALL_JSON}`);
}

try {
  await main();
} finally {
  await cleanUp();
}
