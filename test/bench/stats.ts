// Summary figures and the printed table. Percentiles by nearest rank: with a handful of samples p90 is simply the
// largest but one or the largest, never an interpolated value that no run produced.

export interface Summary {
  n: number;
  medianMs: number;
  p90Ms: number;
  p95Ms: number;
  minMs: number;
  maxMs: number;
}

function nearestRank(sorted: readonly number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** The p-th percentile by nearest rank (0 for no samples). */
export function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : nearestRank(sorted, p);
}

/** undefined when there are no samples (a part the runs never measured). */
export function summarize(samplesMs: readonly (number | undefined)[]): Summary | undefined {
  const sorted = samplesMs.filter((v): v is number => v !== undefined && Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  return {
    n: sorted.length,
    medianMs: nearestRank(sorted, 50),
    p90Ms: nearestRank(sorted, 90),
    p95Ms: nearestRank(sorted, 95),
    minMs: sorted[0]!,
    maxMs: sorted.at(-1)!,
  };
}

export interface Row {
  figure: string;
  /** What the figure measures, from which moment to which. */
  meaning: string;
  summary: Summary | undefined;
}

const ms = (v: number) => String(Math.round(v));

/** A fixed-width table: one row a figure, its meaning at the end so the numbers line up; `high` names the upper percentile shown. */
export function table(title: string, rows: readonly Row[], high: 'p90' | 'p95' = 'p90'): string {
  const figureWidth = Math.max(6, ...rows.map((r) => r.figure.length));
  const header = `${'figure'.padEnd(figureWidth)}  ${'n'.padStart(3)} ${'median'.padStart(7)} ${high.padStart(7)} ${'min'.padStart(7)} ${'max'.padStart(7)}  meaning`;
  const lines = rows.map((r) => {
    const s = r.summary;
    const numbers = s
      ? `${String(s.n).padStart(3)} ${ms(s.medianMs).padStart(7)} ${ms(high === 'p90' ? s.p90Ms : s.p95Ms).padStart(7)} ${ms(s.minMs).padStart(7)} ${ms(s.maxMs).padStart(7)}`
      : `${'0'.padStart(3)} ${'-'.padStart(7)} ${'-'.padStart(7)} ${'-'.padStart(7)} ${'-'.padStart(7)}`;
    return `${r.figure.padEnd(figureWidth)}  ${numbers}  ${r.meaning}`;
  });
  return [title, header, '-'.repeat(header.length), ...lines].join('\n');
}
