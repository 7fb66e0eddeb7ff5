// The peers-faults section's tables: one per fault, a row per contender, every figure against its healthy run.
import { faultsJson, FAULT_QUESTIONS, type FaultRun, type PeersFaultsReport } from './peers-faults.ts';
import { FAULT_IDS, FAULT_LABELS } from './peers/faults.ts';
import { LIVEKIT_AGENTS_PINS, PIPECAT_SPEC } from './peers/install.ts';
import { percentiles } from './peers.ts';

const ms = (v: number | undefined) => (v === undefined ? '-' : String(Math.round(v)));

function row(run: FaultRun): string {
  const label = run.label.padEnd(30);
  if (run.skipped) return `${label} not run: ${run.skipped.slice(0, 160)}`;
  const qs = run.questions;
  const answered = qs.filter((q) => q.responseDelayMs !== undefined).length;
  const delay = percentiles(qs.map((q) => q.responseDelayMs));
  const added = percentiles(qs.map((q) => q.addedMs));
  const sum = (f: (q: (typeof qs)[number]) => number) => qs.reduce((s, q) => s + f(q), 0);
  const expected = sum((q) => q.words.expected);
  const notes: string[] = [];
  const s = run.secondaries;
  const used = [s.groqChat && `groq chat ${s.groqChat}`, s.openaiSpeech && `openai speech ${s.openaiSpeech}`, s.openaiTranscriptions && `openai stt ${s.openaiTranscriptions}`].filter(Boolean);
  notes.push(used.length ? `secondaries: ${used.join(', ')}` : 'no secondary used');
  notes.push(`primary LLM requests ${run.primaryLlmRequests}`);
  if (run.error) notes.push(`error: ${run.error.slice(0, 100)}`);
  notes.push(`load ${run.loadAverageAtStart.toFixed(1)}`);
  return [
    label,
    `${answered}/${qs.length}`.padStart(5),
    ms(delay?.p50Ms).padStart(6),
    ms(delay?.maxMs).padStart(6),
    ms(added?.p50Ms).padStart(7),
    ms(added?.maxMs).padStart(7),
    `${sum((q) => q.words.lost)}/${expected}`.padStart(7),
    String(sum((q) => q.words.repeated)).padStart(5),
    `${sum((q) => q.words.heardBursts)}/${sum((q) => q.words.delivered)}`.padStart(9),
    ` ${notes.join('; ')}`,
  ].join(' ');
}

export function peersFaultsTable(report: PeersFaultsReport): string {
  const m = report.machine;
  const lines = [
    `Peers under faults: ${FAULT_QUESTIONS.length} spoken questions per run (after a healthy warm-up), each contender with one secondary per modality behind its own failover`,
    `  ours: worker/fallback (LLM openai→groq, TTS elevenlabs→openai, STT deepgram→openai); LiveKit Agents ${LIVEKIT_AGENTS_PINS['@livekit/agents']} defaults: llm/tts/stt.FallbackAdapter with its defaults;`,
    `  ${PIPECAT_SPEC} defaults: ServiceSwitcher + ServiceSwitcherStrategyFailover per service (it switches only on errors it deems permanent)`,
    `  fakes (${report.delays}'s delays): Deepgram +${report.profiles.deepgram.ttfbMs} ms; LLM first token ${report.profiles.openai.ttfbMs} ms then ${report.profiles.openai.tokensPerSecond}/s (Groq the same); TTS first audio ${report.profiles.elevenlabs.ttfbMs} ms; OpenAI speech/whisper on the LLM's profile`,
    `  machine: ${m.cores} cores, load average ${m.loadAverageAtStart.map((l) => l.toFixed(2)).join(' / ')} at the start, ${m.loadAverageAtEnd.map((l) => l.toFixed(2)).join(' / ')} at the end`,
    '  delay: caller\'s end of speech → first loud audio (ms); added: minus the same contender\'s healthy run, question by question;',
    '  words lost/repeated against the scripted reply "' + report.reply + '": the words whose audio the TTS fakes (ElevenLabs,',
    '  OpenAI speech) actually sent in the question\'s window, in order, cut to the number of word-sized runs of sound the caller',
    '  received when it heard fewer; lost = reply words − common subsequence, repeated = heard words − common subsequence.',
    '  heard/delivered: runs of sound the caller counted / words the TTS fakes delivered (a gap means audio the agent dropped;',
    '  the codec merges a few words even when healthy: the healthy run\'s shortfall, question by question, is added back).',
  ];
  const header = `${'contender'.padEnd(30)} ${'answ'.padStart(5)} ${'p50'.padStart(6)} ${'max'.padStart(6)} ${'+p50'.padStart(7)} ${'+max'.padStart(7)} ${'lost'.padStart(7)} ${'rep'.padStart(5)} ${'heard/del'.padStart(9)}  notes`;
  for (const fault of ['healthy', ...FAULT_IDS] as const) {
    const runs = report.runs.filter((r) => r.run === fault);
    if (runs.length === 0) continue;
    lines.push('', fault === 'healthy' ? 'Healthy (the baseline of every "added" figure)' : `Fault: ${FAULT_LABELS[fault]}`, header, '-'.repeat(120));
    for (const run of runs) lines.push(row(run));
  }
  lines.push(`  JSON: ${faultsJson(report.delays)}`);
  return lines.join('\n');
}
