// `npm run bench` (node test/bench/run.ts): response-delay figures for the voice agent against the local fakes.
// It measures and prints; it asserts nothing about speed. Everything runs on this machine (fakes in this process,
// the console as a child process) and is removed at the end, or on Ctrl-C.
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { killConsoles, makeTempDir, removeDir } from '../e2e/console-support.ts';
import { SCENARIOS, TURNS, makeQuestionsWav, runScenario, type ScenarioResult, type TurnMeasure } from './console-scenarios.ts';
import { HEDGE_AFTER_MS, HEDGE_REQUESTS, runHedging, type FirstText } from './hedging.ts';
import { peersTable, runPeers } from './peers.ts';
import { killAllPeerProcesses } from './peers/processes.ts';
import { summarize, table, type Row } from './stats.ts';

const { values } = parseArgs({ options: { only: { type: 'string' } }, strict: true });
const only = values.only;
const SECTIONS = ['console', 'hedging', 'peers'];
if (only !== undefined && !SECTIONS.includes(only)) {
  console.error(`usage: node test/bench/run.ts [--only ${SECTIONS.join('|')}]`);
  process.exit(2);
}

let dir: string | undefined;

// The fakes live in this process and close with it; the console child and the temporary files need an explicit end.
async function cleanUp(): Promise<void> {
  killConsoles();
  killAllPeerProcesses();
  await removeDir(dir);
}

process.once('SIGINT', () => {
  void cleanUp().finally(() => process.exit(130));
});

const progress = (line: string) => process.stderr.write(`… ${line}\n`);

function header(): string {
  const cpu = cpus();
  return [
    'Voice agent latency benchmark (figures in ms; median and p90 by nearest rank: under 10 samples p90 is the largest)',
    `machine:   ${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown CPU'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${process.platform} ${process.arch}, node ${process.version}`,
    `reproduce: npm run bench   (= node test/bench/run.ts [--only ${SECTIONS.join('|')}])`,
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

async function main(): Promise<void> {
  console.log(`${header()}\n`);
  dir = await makeTempDir('bench');
  const run = (section: string) => only === undefined || only === section;
  if (run('console')) {
    progress('making the spoken questions (espeak-ng, sox)');
    const normalWav = await makeQuestionsWav(dir, SCENARIOS.baseline.gapMs);
    const stallWav = await makeQuestionsWav(dir, SCENARIOS.primaryLlmStall.gapMs);
    progress('scenario 1: baseline, real time (~50 s)');
    const baseline = await runScenario(SCENARIOS.baseline, normalWav, dir);
    console.log(`${baselineTable(baseline)}\n`);
    progress('scenario 2a: primary LLM answers 500 (~50 s)');
    const failing = await runScenario(SCENARIOS.primaryLlm500, normalWav, dir);
    progress('scenario 2b: primary LLM stalls (~70 s)');
    const stalling = await runScenario(SCENARIOS.primaryLlmStall, stallWav, dir);
    console.log(`${failoverTable(failing, baseline)}\n`);
    console.log(`${failoverTable(stalling, baseline)}\n`);
  }
  if (run('hedging')) {
    progress(`scenario 3: hedging, ${2 * HEDGE_REQUESTS} requests (~20 s)`);
    const { unhedged, hedged } = await runHedging();
    console.log(`${hedgingTable(unhedged, hedged)}\n`);
  }
  if (run('peers')) {
    console.log(`${peersTable(await runPeers(dir, progress))}\n`);
  }
}

try {
  await main();
} finally {
  await cleanUp();
}
