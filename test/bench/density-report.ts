// The density part's table, the memory breakdown of one worker and the Fargate size and cost that fits it.
import type { DensityFigures, LevelFigures, MemoryStep } from './density.ts';

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
const r = (v: number) => String(Math.round(v));

/**
 * AWS Fargate on-demand, Linux/x86, us-east-1, per hour: the prices AWS has published on aws.amazon.com/fargate/pricing
 * since its January 2019 reduction, as known to the author; NOT re-checked online on the day of the run (2026-12-01).
 */
export const FARGATE_PRICE = { vcpuHourUsd: 0.04048, gbHourUsd: 0.004445, asOf: 'published since 2019-01 (us-east-1, Linux/x86, on-demand); assumed still current on 2026-12-01, not re-checked' };

/** Fargate's task sizes: vCPU and the memory (GB) each allows. */
const SIZES: { vcpu: number; memoryGb: number[] }[] = [
  { vcpu: 0.25, memoryGb: [0.5, 1, 2] },
  { vcpu: 0.5, memoryGb: [1, 2, 3, 4] },
  { vcpu: 1, memoryGb: [2, 3, 4, 5, 6, 7, 8] },
  { vcpu: 2, memoryGb: [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16] },
];

export interface FargateFit {
  vcpu: number;
  memoryGb: number;
  usdPerConversationHour: number;
  why: string;
}

/** One worker per task (one room): CPU with 2× headroom for answer bursts, memory with 25 % over the peak RSS. */
export function fargateFit(cpuPerConversationSecond: number, peakRssBytes: number): FargateFit | undefined {
  const needVcpu = cpuPerConversationSecond * 2;
  const needGb = (peakRssBytes * 1.25) / 2 ** 30;
  for (const size of SIZES) {
    if (size.vcpu < needVcpu) continue;
    const memoryGb = size.memoryGb.find((m) => m >= needGb);
    if (memoryGb === undefined) continue;
    const usd = size.vcpu * FARGATE_PRICE.vcpuHourUsd + memoryGb * FARGATE_PRICE.gbHourUsd;
    return { vcpu: size.vcpu, memoryGb, usdPerConversationHour: usd, why: `needs ${needVcpu.toFixed(2)} vCPU (2× the measured ${cpuPerConversationSecond.toFixed(3)}) and ${needGb.toFixed(2)} GB (1.25× peak RSS ${mib(peakRssBytes)} MiB)` };
  }
  return undefined;
}

/** The largest N whose p95 is within 10 % of one room's, every level below it too (and nothing lost). */
export function largestWithin(levels: LevelFigures[]): number | undefined {
  const one = levels.find((l) => l.rooms === 1);
  if (!one) return undefined;
  let largest: number | undefined;
  for (const l of levels) {
    if (l.agentsJoined < l.rooms || l.answered < 0.9 * l.asked || l.p95Ms > one.p95Ms * 1.1) break;
    largest = l.rooms;
  }
  return largest;
}

function memoryLines(steps: MemoryStep[]): string[] {
  const lines = ['Where one worker\'s memory goes (test/bench/memory-probe.ts: loaded one part at a time in a fresh node, after a full GC; by difference):'];
  steps.forEach((s, i) => {
    const prev = steps[i - 1];
    const delta = prev ? `+${mib(s.rssBytes - prev.rssBytes).padStart(4)} MiB rss` : '          ';
    lines.push(`  ${s.step.padEnd(58)} rss ${mib(s.rssBytes).padStart(4)} MiB ${delta}   v8 heap used ${mib(s.heapUsedBytes).padStart(3)} / total ${mib(s.heapTotalBytes).padStart(3)} MiB`);
  });
  const last = steps.at(-1);
  if (last) lines.push(`  of the last rss: V8 heap (total, reserved) ${mib(last.heapTotalBytes)} MiB, the rest ${mib(last.rssBytes - last.heapTotalBytes)} MiB is node, native libraries (rtc-node, onnxruntime) and their allocations`);
  return lines;
}

export function densityTable(f: DensityFigures): string {
  const head = `${'rooms'.padStart(5)} ${'agents'.padStart(6)} ${'join s'.padStart(6)} ${'answered'.padStart(9)} ${'p50'.padStart(6)} ${'p95'.padStart(6)} ${'cpu-s/conv-s'.padStart(12)} ${'callers'.padStart(8)} ${'rss/worker'.padStart(11)} ${'pss/worker'.padStart(11)}`;
  const rows = f.levels.map((l) => {
    const rss = l.workerMemory.map((m) => m.rssBytes);
    const pss = l.workerMemory.map((m) => m.pssBytes ?? 0);
    const avg = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
    return `${String(l.rooms).padStart(5)} ${String(l.agentsJoined).padStart(6)} ${(l.joinMs / 1000).toFixed(1).padStart(6)} ${`${l.answered}/${l.asked}`.padStart(9)} ${r(l.p50Ms).padStart(6)} ${r(l.p95Ms).padStart(6)} ${l.cpuSecondsPerConversationSecond.toFixed(3).padStart(12)} ${l.callerCpuSecondsPerConversationSecond.toFixed(3).padStart(8)} ${`${mib(Math.max(0, ...rss))} MiB`.padStart(11)} ${`${mib(avg(pss))} MiB`.padStart(11)}`;
  });
  const one = f.levels.find((l) => l.rooms === 1);
  const peakRss = one ? Math.max(0, ...one.workerMemory.map((m) => m.rssBytes)) : 0;
  const fit = one ? fargateFit(one.cpuSecondsPerConversationSecond, peakRss) : undefined;
  const largest = largestWithin(f.levels);
  return [
    'Density: N rooms at once on this machine, a caller each (4 questions, fixed vendor delays), the workers read from /proc',
    head,
    '-'.repeat(head.length),
    ...rows,
    '  cpu-s/conv-s: the workers\' user+system CPU seconds per conversation-second; callers: this process\'s (rtc-node callers) on the same cores;',
    '  rss/worker: the largest peak RSS of a worker; pss/worker: mean proportional set size (shared pages split among the workers)',
    ...(f.skipped.length ? [`  skipped (budget of the part, or a lower level broke): ${f.skipped.join(', ')} rooms`] : []),
    `  largest N with p95 within 10 % of one room (${one ? r(one.p95Ms) : '-'} ms): ${largest ?? 'none measured'}`,
    '',
    ...memoryLines(f.memorySteps),
    '',
    fit
      ? `Fargate: ${fit.vcpu} vCPU / ${fit.memoryGb} GB per worker task (one room) = $${fit.usdPerConversationHour.toFixed(4)} per conversation-hour; ${fit.why}`
      : 'Fargate: no fit computed (no one-room figures)',
    `  price assumption: $${FARGATE_PRICE.vcpuHourUsd} per vCPU-hour + $${FARGATE_PRICE.gbHourUsd} per GB-hour, ${FARGATE_PRICE.asOf}`,
  ].join('\n');
}

/** The same figures for the README's performance section. */
export function densityMarkdown(f: DensityFigures): string {
  const one = f.levels.find((l) => l.rooms === 1);
  const fit = one ? fargateFit(one.cpuSecondsPerConversationSecond, Math.max(0, ...one.workerMemory.map((m) => m.rssBytes))) : undefined;
  const rows = f.levels.map((l) => `| ${l.rooms} | ${l.agentsJoined} | ${l.answered}/${l.asked} | ${r(l.p50Ms)} | ${r(l.p95Ms)} | ${l.cpuSecondsPerConversationSecond.toFixed(3)} | ${mib(Math.max(0, ...l.workerMemory.map((m) => m.rssBytes)))} MiB |`);
  const steps = f.memorySteps.map((s, i) => `${s.step} ${i === 0 ? mib(s.rssBytes) : `+${mib(s.rssBytes - f.memorySteps[i - 1]!.rssBytes)}`} MiB`).join(', ');
  return [
    '### Density and cost',
    '',
    '`npm run bench -- --only density`: N rooms at once on this machine (2 cores, shared), a caller each asking 4 questions, the fixed vendor delays.',
    '',
    '| rooms | agents | answered | p50 ms | p95 ms | worker CPU-s per conversation-s | peak RSS per worker |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `Largest N with p95 within 10 % of one room: ${largestWithin(f.levels) ?? 'none'}. One worker's memory, part by part: ${steps}.`,
    fit ? `Fargate: ${fit.vcpu} vCPU / ${fit.memoryGb} GB per room ≈ $${fit.usdPerConversationHour.toFixed(4)} per conversation-hour ($${FARGATE_PRICE.vcpuHourUsd}/vCPU-h + $${FARGATE_PRICE.gbHourUsd}/GB-h, ${FARGATE_PRICE.asOf}).` : '',
    '',
  ].join('\n');
}
