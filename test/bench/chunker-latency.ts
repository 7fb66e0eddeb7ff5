// node test/bench/chunker-latency.ts: how long the first words of an answer wait in the sentence chunker, old rules
// (commit 5585fb4: a sentence end waits for the next token, a first clause needs 24 characters) against today's.
// Tokens are OpenAI-like pieces (test/worker/agent/llm-pieces.ts) arriving at a steady rate, the first at 0 ms; the
// figure is when the first chunk leaves the chunker (the end of the answer when nothing left earlier). Pure
// arithmetic on token counts: the machine's load does not move it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { SentenceChunker } from '../../worker/agent/sentence-chunker.ts';
import { llmPieces } from '../worker/agent/llm-pieces.ts';

const OLD_COMMIT = '5585fb4';
const REPO = join(import.meta.dirname, '..', '..');

/** First sentences of the kind a voice agent says. */
export const FIRST_SENTENCES = [
  'Sure! I can help you with that.',
  'Of course, let me check that for you.',
  "I'm sorry, I didn't quite catch that. Could you repeat it?",
  'Hello! How can I help you today?',
  'Yes, we are open until 9 p.m. on weekdays.',
  'The weather in Paris today is sunny, with a high of 22 degrees.',
  'Your appointment is on Tuesday at 3.30 in the afternoon.',
  'Great question. The short answer is yes.',
  'Dr. Patel has an opening tomorrow morning.',
  'Absolutely, I have booked a table for two at 7.',
  'Hmm… Let me think about that for a second.',
  'No. That flight was cancelled, but there is another one at 6.',
];

interface Chunker {
  push(text: string): string[];
  flush(): string[];
}

/** When the first chunk leaves, in tokens after the first one (0: on the first token), and what it says. */
export function firstChunk(make: () => Chunker, text: string): { afterTokens: number; chunk: string } {
  const tokens = llmPieces(text);
  const c = make();
  for (let i = 0; i < tokens.length; i++) {
    const out = c.push(tokens[i]!);
    if (out.length > 0) return { afterTokens: i, chunk: out[0]! };
  }
  return { afterTokens: tokens.length - 1, chunk: c.flush()[0] ?? '' };
}

/** The chunker as it was at OLD_COMMIT, loaded from git (undefined outside a git checkout). */
async function oldChunker(): Promise<(() => Chunker) | undefined> {
  try {
    const source = execFileSync('git', ['show', `${OLD_COMMIT}:worker/agent/sentence-chunker.ts`], { cwd: REPO, encoding: 'utf8' });
    const dir = join(REPO, '.tmp');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `sentence-chunker-${OLD_COMMIT}.ts`);
    writeFileSync(file, source);
    const mod = (await import(pathToFileURL(file).href)) as { SentenceChunker: new () => Chunker };
    return () => new mod.SentenceChunker();
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'tokens-per-second': { type: 'string', default: '80' } }, strict: true });
  const tokenMs = 1000 / Number(values['tokens-per-second']);
  const old = await oldChunker();
  const now = () => new SentenceChunker();
  const ms = (tokens: number) => Math.round(tokens * tokenMs);
  const rows = FIRST_SENTENCES.map((text) => ({ text, old: old ? firstChunk(old, text) : undefined, now: firstChunk(now, text) }));
  console.log(`First chunk out of the sentence chunker, ms after the first token at ${values['tokens-per-second']} tokens/s (old = ${OLD_COMMIT})`);
  console.log(`${'old'.padStart(5)} ${'new'.padStart(5)}  first chunk now`);
  for (const r of rows) console.log(`${(r.old ? String(ms(r.old.afterTokens)) : '-').padStart(5)} ${String(ms(r.now.afterTokens)).padStart(5)}  ${r.now.chunk}`);
  const mean = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / xs.length);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
  const nowMs = rows.map((r) => ms(r.now.afterTokens));
  const oldMs = rows.flatMap((r) => (r.old ? [ms(r.old.afterTokens)] : []));
  if (oldMs.length) console.log(`old: median ${median(oldMs)} ms, mean ${mean(oldMs)} ms`);
  console.log(`new: median ${median(nowMs)} ms, mean ${mean(nowMs)} ms`);
}

if (import.meta.main) await main();
