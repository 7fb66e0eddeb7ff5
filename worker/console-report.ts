// What the console keeps for report.json: every outcome, every turn with the texts heard and spoken and where on
// the output waveform to find them, the state changes and captions, and what the process cost.
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
  };
}
