// The waterfall's table, its overhead line, the SVG (plain text, written here) and a README snippet, from the
// per-turn stage times test/bench/waterfall.ts measured. Every gap is "configured" (a silence the worker is set to
// wait, a vendor delay the fakes are set to) or "ours" (what the pipeline and the transport add on top).
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { percentile, summarize, type Summary } from './stats.ts';
import { DEFAULT_STT_FLUSH_SILENCE_MS } from '../../worker/config.ts';
import { END_OF_TURN_SILENCE_MS, STT_ENDPOINTING_MS, VENDOR_DELAYS, type WaterfallTurn } from './waterfall.ts';

type Point = 'speechEnd' | keyof WaterfallTurn['fromEndMs'];

interface Segment {
  to: Point;
  stage: string;
  /** What the gap before this stage is. */
  what: string;
  /** The share of the gap the settings or the fakes impose, for one turn. */
  configuredMs(t: WaterfallTurn): number;
}

const byEndpoint = (t: WaterfallTurn) => t.endSignal === 'stt_endpoint';
/** The final was in hand when the turn ended: it came with Deepgram's endpoint, or with its answer to the flush. */
const finalInHand = (t: WaterfallTurn) => byEndpoint(t) || t.flushed === true;
const sttFinalMs = VENDOR_DELAYS.sttFinalMs.ms;
/**
 * The configured time from the end of speech to the turn's end: Deepgram's endpointing and its final; or the judged
 * silence (the fixed one without a detector), and with a flush, no sooner than the flush silence and the final after
 * it (they run side by side).
 */
function configuredTurnEndMs(t: WaterfallTurn): number {
  if (byEndpoint(t)) return STT_ENDPOINTING_MS + sttFinalMs;
  const silence = t.endOfTurnWaitMs ?? END_OF_TURN_SILENCE_MS;
  return t.flushed ? Math.max(silence, DEFAULT_STT_FLUSH_SILENCE_MS + sttFinalMs) : silence;
}
const msPerToken = 1000 / VENDOR_DELAYS.llmTokensPerSecond.value;

export const SEGMENTS: Segment[] = [
  { to: 'vadSilenceAt', stage: 'VAD hears silence', what: 'caller audio over WebRTC into the worker, its frame queue, the VAD\'s window', configuredMs: () => 0 },
  {
    to: 'turnEndAt',
    stage: 'turn end decided',
    what: `the judged end-of-turn silence (fixed: ${END_OF_TURN_SILENCE_MS} ms), with the flush after ${DEFAULT_STT_FLUSH_SILENCE_MS} ms of it and Deepgram's ${sttFinalMs} ms beside it; or, by STT endpoint, Deepgram's ${STT_ENDPOINTING_MS} ms endpointing + its ${sttFinalMs} ms`,
    configuredMs: configuredTurnEndMs,
  },
  { to: 'sttFinalAt', stage: 'STT final in hand', what: `Deepgram's final after Finalize (${sttFinalMs} ms; in hand already when its endpoint or its answer to the flush ended the turn)`, configuredMs: (t) => (finalInHand(t) ? 0 : sttFinalMs) },
  { to: 'llmRequestAt', stage: 'LLM request sent', what: 'final transcript → history → the LLM chain asked', configuredMs: () => 0 },
  { to: 'llmFirstTokenAt', stage: 'LLM first token', what: `the LLM's time to first token (${VENDOR_DELAYS.llmTtftMs.ms} ms)`, configuredMs: () => VENDOR_DELAYS.llmTtftMs.ms },
  {
    to: 'ttsFirstTextAt',
    stage: 'first text to TTS',
    what: `the chunker waits for its first sentence or clause: the words after the first at ${VENDOR_DELAYS.llmTokensPerSecond.value} tokens/s`,
    configuredMs: (t) => Math.max(0, (t.firstTextWords ?? 1) - 1) * msPerToken,
  },
  { to: 'ttsFirstByteAt', stage: 'TTS first byte', what: `the TTS's time to first byte (${VENDOR_DELAYS.ttsTtfbMs.ms} ms)`, configuredMs: () => VENDOR_DELAYS.ttsTtfbMs.ms },
  { to: 'firstFrameOutAt', stage: 'first frame out', what: 'resampling, the playout queue and the pump handing the frame to rtc-node', configuredMs: () => 0 },
  { to: 'callerHeardAt', stage: 'caller hears it', what: 'WebRTC out: Opus, livekit-server, the caller\'s jitter buffer; first loud 10 ms frame', configuredMs: () => 0 },
];

const at = (t: WaterfallTurn, p: Point) => (p === 'speechEnd' ? 0 : t.fromEndMs[p]);
const complete = (t: WaterfallTurn) => SEGMENTS.every((s) => at(t, s.to) !== undefined);

export interface SegmentFigures {
  stage: string;
  /** Stage time from the end of speech, over turns. */
  fromEnd: Summary | undefined;
  gap: Summary | undefined;
  configuredMedianMs: number;
  oursMedianMs: number;
  label: 'configured' | 'ours' | 'configured + ours';
}

export interface WaterfallFigures {
  vendorDelays: typeof VENDOR_DELAYS;
  endOfTurnSilenceMs: number;
  turns: WaterfallTurn[];
  completeTurns: number;
  endSignals: Record<string, number>;
  segments: SegmentFigures[];
  endToEnd: Summary | undefined;
  /** end-to-end − (configured silence + STT final + LLM TTFT + TTS TTFB), per turn. */
  overheadMs: number[];
  overhead: { p50Ms: number; p95Ms: number };
  /** The same, split by what ended the turn. */
  overheadBySignal: Record<string, { n: number; p50Ms: number; p95Ms: number }>;
  /** The first row split: the caller's last loud audio reaching the worker (WebRTC in), then the VAD's lag after it. */
  lastLoudIn: Summary | undefined;
  vadLag: Summary | undefined;
  /** Turns the STT endpoint ended: turn end → final transcript in hand (0 when the answer starts on the final words; Deepgram's Finalize flush runs in the background). */
  sttAfterEndpoint: Summary | undefined;
}

export function waterfallFigures(turns: WaterfallTurn[]): WaterfallFigures {
  const done = turns.filter(complete);
  const median = (xs: number[]) => percentile(xs, 50);
  const segments = SEGMENTS.map((s, i): SegmentFigures => {
    const from = i === 0 ? 'speechEnd' : SEGMENTS[i - 1]!.to;
    const gaps = done.map((t) => at(t, s.to)! - at(t, from)!);
    const configured = median(done.map((t) => s.configuredMs(t)));
    const gap = summarize(gaps);
    // Per turn, then the median: turns ended by different signals have different configured shares.
    const ours = median(done.map((t, k) => gaps[k]! - s.configuredMs(t)));
    const anyConfigured = done.some((t) => s.configuredMs(t) > 0);
    const label = !anyConfigured ? 'ours' : ours < 5 ? 'configured' : 'configured + ours';
    return { stage: s.stage, fromEnd: summarize(done.map((t) => at(t, s.to))), gap, configuredMedianMs: configured, oursMedianMs: ours, label };
  });
  const overheadMs = done.map((t) => {
    const toFinalMs = configuredTurnEndMs(t) + (finalInHand(t) ? 0 : sttFinalMs);
    return t.fromEndMs.callerHeardAt! - (toFinalMs + VENDOR_DELAYS.llmTtftMs.ms + VENDOR_DELAYS.ttsTtfbMs.ms);
  });
  const endSignals: Record<string, number> = {};
  const bySignal: Record<string, number[]> = {};
  done.forEach((t, k) => {
    const signal = t.endSignal ?? '?';
    endSignals[signal] = (endSignals[signal] ?? 0) + 1;
    (bySignal[signal] ??= []).push(overheadMs[k]!);
  });
  const overheadBySignal = Object.fromEntries(Object.entries(bySignal).map(([k, xs]) => [k, { n: xs.length, p50Ms: percentile(xs, 50), p95Ms: percentile(xs, 95) }]));
  return {
    vendorDelays: VENDOR_DELAYS,
    endOfTurnSilenceMs: END_OF_TURN_SILENCE_MS,
    turns,
    completeTurns: done.length,
    endSignals,
    segments,
    endToEnd: summarize(done.map((t) => t.fromEndMs.callerHeardAt)),
    overheadMs,
    overhead: { p50Ms: percentile(overheadMs, 50), p95Ms: percentile(overheadMs, 95) },
    overheadBySignal,
    lastLoudIn: summarize(done.map((t) => t.fromEndMs.lastLoudInAt)),
    vadLag: summarize(done.map((t) => (t.fromEndMs.lastLoudInAt === undefined ? undefined : t.fromEndMs.vadSilenceAt! - t.fromEndMs.lastLoudInAt))),
    sttAfterEndpoint: summarize(done.filter(byEndpoint).map((t) => t.fromEndMs.sttFinalAt! - t.fromEndMs.turnEndAt!)),
  };
}

const r = (v: number | undefined) => (v === undefined ? '-' : String(Math.round(v)));

export function waterfallTable(f: WaterfallFigures): string {
  const head = `${'stage'.padEnd(20)} ${'at p50'.padStart(7)} ${'at p95'.padStart(7)} ${'gap p50'.padStart(8)} ${'config'.padStart(7)} ${'ours'.padStart(6)}  label               gap is`;
  const lines = f.segments.map((s, i) =>
    `${s.stage.padEnd(20)} ${r(s.fromEnd?.medianMs).padStart(7)} ${r(s.fromEnd?.p95Ms).padStart(7)} ${r(s.gap?.medianMs).padStart(8)} ${r(s.configuredMedianMs).padStart(7)} ${r(s.oursMedianMs).padStart(6)}  ${s.label.padEnd(18)}  ${SEGMENTS[i]!.what}`,
  );
  const signals = Object.entries(f.endSignals).map(([k, n]) => `${k} ${n}`).join(', ');
  const words = f.turns.map((t) => t.firstTextWords ?? '?').join(',');
  const d = f.vendorDelays;
  return [
    `Waterfall over a real LiveKit room: ms from the end of the caller's speech (as sent), ${f.completeTurns}/${f.turns.length} turns with every stage, median over turns`,
    `fixed vendor delays (no jitter): Deepgram final ${d.sttFinalMs.ms} ms, LLM first token ${d.llmTtftMs.ms} ms then ${d.llmTokensPerSecond.value} tokens/s, TTS first byte ${d.ttsTtfbMs.ms} ms`,
    head,
    '-'.repeat(head.length),
    ...lines,
    ...(f.lastLoudIn && f.vadLag
      ? [`  VAD hears silence, split: the caller's last loud audio reached the worker's conversation loop ${r(f.lastLoudIn.medianMs)} ms after it was sent (p50: WebRTC in, rtc-node's AudioStream, the worker's frame queue when its loop lags), the VAD heard silence ${r(f.vadLag.medianMs)} ms after that (p50)`]
      : []),
    `  turn end by: ${signals}; words in the first text handed to TTS, per turn: ${words}`,
    `  end-to-end p50 ${r(f.endToEnd?.medianMs)} ms, p95 ${r(f.endToEnd?.p95Ms)} ms (caller's end of speech → first loud audio it received)`,
    `  overhead = end-to-end − (configured end-of-turn silence + STT final + LLM TTFT + TTS TTFB): p50 ${r(f.overhead.p50Ms)} ms, p95 ${r(f.overhead.p95Ms)} ms`,
    `  configured end-of-turn silence + STT final, per turn: the judged silence (its turn_trace's endOfTurnWaitMs; fixed ${END_OF_TURN_SILENCE_MS} ms without a detector) + the final, ` +
      `and when the flush brought the words, max(that silence, ${DEFAULT_STT_FLUSH_SILENCE_MS} ms flush silence + the final); by STT endpoint ${STT_ENDPOINTING_MS} ms + the final`,
    `  overhead by what ended the turn: ` +
      Object.entries(f.overheadBySignal).map(([k, o]) => `${k} p50 ${r(o.p50Ms)} / p95 ${r(o.p95Ms)} ms (${o.n} turns)`).join('; '),
    ...(f.sttAfterEndpoint
      ? [`  turns the STT endpoint ended: their final was in hand at the turn end, and the transcript was taken ${r(f.sttAfterEndpoint.medianMs)} ms later (p50; the Finalize flush runs in the background)`]
      : []),
    '  where the figures come from:',
    ...Object.values(d).map((v) => `    - ${v.source}`),
  ].join('\n');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Horizontal bars, one per stage, from the previous stage's median to its own; configured share grey, ours orange. */
export function waterfallSvg(f: WaterfallFigures): string {
  const labelW = 150;
  const plotW = 640;
  const rowH = 26;
  const top = 40;
  const ends = f.segments.map((s) => s.fromEnd?.medianMs ?? 0);
  const totalMs = Math.max(1, ...ends);
  const scale = plotW / (Math.ceil(totalMs / 250) * 250);
  const x = (ms: number) => labelW + ms * scale;
  const height = top + rowH * f.segments.length + 50;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + plotW + 90}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="18" font-size="14" font-weight="bold">${esc(`One turn, median of ${f.completeTurns}: ms from the end of the caller's speech (end-to-end ${r(f.endToEnd?.medianMs)} ms, overhead p50 ${r(f.overhead.p50Ms)} ms)`)}</text>`,
  ];
  for (let t = 0; t * scale <= plotW + 0.5; t += 250) {
    parts.push(`<line x1="${x(t)}" y1="${top - 6}" x2="${x(t)}" y2="${top + rowH * f.segments.length}" stroke="#ddd"/>`, `<text x="${x(t)}" y="${top + rowH * f.segments.length + 16}" text-anchor="middle" fill="#555">${t}</text>`);
  }
  f.segments.forEach((s, i) => {
    const y = top + i * rowH;
    const start = i === 0 ? 0 : ends[i - 1]!;
    const gap = Math.max(0, ends[i]! - start);
    const configured = s.label === 'ours' ? 0 : Math.min(gap, Math.max(0, gap - Math.max(0, s.oursMedianMs)));
    parts.push(`<text x="${labelW - 8}" y="${y + 16}" text-anchor="end">${esc(s.stage)}</text>`);
    // Bars follow the medians of the stage times; the configured share is the median over turns.
    if (configured >= 1) parts.push(`<rect x="${x(start)}" y="${y + 4}" width="${configured * scale}" height="${rowH - 8}" fill="#9aa5b1"/>`);
    if (gap - configured > 0) parts.push(`<rect x="${x(start + configured)}" y="${y + 4}" width="${Math.max(1, (gap - configured) * scale)}" height="${rowH - 8}" fill="#f28c28"/>`);
    parts.push(`<text x="${x(start + gap) + 4}" y="${y + 16}" fill="#333">${esc(`${r(ends[i])} (+${r(gap)})`)}</text>`);
  });
  const ly = height - 14;
  parts.push(
    `<rect x="${labelW}" y="${ly - 10}" width="12" height="12" fill="#9aa5b1"/><text x="${labelW + 16}" y="${ly}">configured (end-of-turn silence, vendor delays)</text>`,
    `<rect x="${labelW + 330}" y="${ly - 10}" width="12" height="12" fill="#f28c28"/><text x="${labelW + 346}" y="${ly}">ours (pipeline, transport)</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}

/** A table and the image link for the README's performance section. */
export function readmeSnippet(f: WaterfallFigures, svgPath: string): string {
  const rows = f.segments.map((s) => `| ${s.stage} | ${r(s.fromEnd?.medianMs)} | ${r(s.fromEnd?.p95Ms)} | ${r(s.gap?.medianMs)} | ${s.label} |`);
  const d = f.vendorDelays;
  return [
    '### Where a turn\'s time goes',
    '',
    `Measured with \`npm run bench -- --only waterfall\`: a caller in a real LiveKit room, ${f.completeTurns} spoken questions, fake vendors with fixed delays ` +
      `(Deepgram final ${d.sttFinalMs.ms} ms, LLM first token ${d.llmTtftMs.ms} ms then ${d.llmTokensPerSecond.value} tokens/s, TTS first byte ${d.ttsTtfbMs.ms} ms: assumed, typical published figures), ` +
      `the worker's \`turn_trace\` log line for its own stages, preemptive generation off so that they run in sequence (\`--only limit\` runs the worker as it ships). ` +
      `Ms from the end of the caller's speech, median over turns.`,
    '',
    `![waterfall](${svgPath})`,
    '',
    '| stage | at p50 | at p95 | gap p50 | gap is |',
    '|---|---:|---:|---:|---|',
    ...rows,
    '',
    `End-to-end p50 ${r(f.endToEnd?.medianMs)} ms, p95 ${r(f.endToEnd?.p95Ms)} ms. ` +
      `**overhead** = end-to-end − (end-of-turn silence + STT final + LLM TTFT + TTS TTFB), the silence being the one the end-of-turn detector judged (with the flush's STT final running beside it): p50 ${r(f.overhead.p50Ms)} ms, p95 ${r(f.overhead.p95Ms)} ms ` +
      `(${Object.entries(f.overheadBySignal).map(([k, o]) => `turns ended by ${k.replace('_', ' ')}: p50 ${r(o.p50Ms)} ms`).join(', ')}).`,
    ...(f.sttAfterEndpoint
      ? ['', `Where it goes: when Deepgram's endpoint ends the turn its final is already in hand, and the transcript reaches the LLM ${r(f.sttAfterEndpoint.medianMs)} ms later (the Finalize flush runs in the background); ` +
          (f.lastLoudIn && f.vadLag ? `the caller's audio takes ${r(f.lastLoudIn.medianMs)} ms to reach the worker's loop and the VAD ${r(f.vadLag.medianMs)} ms more to hear silence; ` : '') +
          `the LLM and TTS add ${r(f.segments[4]!.oursMedianMs)} and ${r(f.segments[6]!.oursMedianMs)} ms over their configured delays; WebRTC out ${r(f.segments[8]!.gap?.medianMs)} ms. ` +
          'Other work on the machine raises the transport figures (the bench prints the load average).']
      : []),
    '',
  ].join('\n');
}

export async function writeText(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
}
