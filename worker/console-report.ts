// What the console keeps for report.json: every outcome, every turn with the texts heard and spoken and where on
// the output waveform to find them, the state changes and captions, and what the process cost.
import { readdirSync } from 'node:fs';
import type { HistoryMessage, ProviderOutcome, TurnTiming } from '../functions/contract.ts';
import type { ReportSink, TurnDetail } from './agent/types.ts';
import type { TimedAgentState, TimedTranscription } from './transport/file.ts';

export class LocalReport implements ReportSink {
  readonly outcomes: ProviderOutcome[] = [];
  readonly turns: (TurnTiming & Partial<TurnDetail>)[] = [];
  readonly history: HistoryMessage[] = [];
  readonly #forward: ReportSink | undefined;

  /** `forward`: also report to the control plane (a console run with FUNCTIONS_URL). */
  constructor(forward?: ReportSink) {
    this.#forward = forward;
  }

  record(outcome: ProviderOutcome): void {
    this.outcomes.push(outcome);
    this.#forward?.record(outcome);
  }

  recordTurn(timing: TurnTiming, detail?: TurnDetail): void {
    this.turns.push({ ...timing, ...detail });
    this.#forward?.recordTurn(timing);
  }

  appendHistory(messages: HistoryMessage[]): void {
    this.history.push(...messages);
    this.#forward?.appendHistory(messages);
  }
}

export interface ConsoleReportInput {
  inputPath: string;
  outputPath: string;
  fast: boolean;
  timelineMs: number;
  inputEndedAtMs: number | undefined;
  report: LocalReport;
  states: readonly TimedAgentState[];
  transcripts: readonly TimedTranscription[];
  cpuMs: number;
  peakRssBytes: number;
  resources: readonly ResourceSnapshot[];
}

/**
 * What the process holds at one moment, counted (not timed) so that growth over many turns shows at any run speed:
 * active handles and requests by type (timers, sockets… from process.getActiveResourcesInfo()), process listeners,
 * memory. The console takes one at the start, one after each turn, one before and one after closing.
 */
export interface ResourceSnapshot {
  at: 'start' | 'turn' | 'end' | 'closed';
  atMs: number;
  turns: number;
  resources: Record<string, number>;
  processListeners: number;
  /** Open file descriptors (Linux): sockets too, even unref'd ones that getActiveResourcesInfo leaves out. */
  fileDescriptors?: number;
  rssBytes: number;
  heapUsedBytes: number;
}

export function resourceSnapshot(at: ResourceSnapshot['at'], atMs: number, turns: number): ResourceSnapshot {
  // Under `node --expose-gc`, collect first: heapUsed is then what is live, not what awaits collection.
  (globalThis as { gc?: () => void }).gc?.();
  const resources: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) resources[type] = (resources[type] ?? 0) + 1;
  const processListeners = process.eventNames().reduce((n, name) => n + process.listenerCount(name), 0);
  const fileDescriptors = openFileDescriptors();
  const { rss, heapUsed } = process.memoryUsage();
  return {
    at,
    atMs: Math.round(atMs),
    turns,
    resources,
    processListeners,
    ...(fileDescriptors !== undefined ? { fileDescriptors } : {}),
    rssBytes: rss,
    heapUsedBytes: heapUsed,
  };
}

function openFileDescriptors(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined; // not Linux
  }
}

export function consoleReport(i: ConsoleReportInput): object {
  const turns = i.report.turns;
  return {
    input: i.inputPath,
    output: i.outputPath,
    fast: i.fast,
    timelineMs: Math.round(i.timelineMs),
    inputEndedAtMs: i.inputEndedAtMs,
    summary: {
      turns: turns.length,
      interruptions: turns.filter((t) => t.interrupted).length,
      failovers: turns.reduce((n, t) => n + t.failovers, 0),
      failedAttempts: i.report.outcomes.filter((o) => !o.ok).length,
      cpuMs: i.cpuMs,
      peakRssBytes: i.peakRssBytes,
    },
    turns,
    outcomes: i.report.outcomes,
    history: i.report.history,
    states: i.states,
    transcripts: i.transcripts.filter((t) => t.final),
    diagnostics: { resources: i.resources },
  };
}
