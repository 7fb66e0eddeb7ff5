// The stage list a newcomer reads first stays true: every module it names exists, in the order the audio flows.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PIPELINE } from '../../../worker/agent/pipeline.ts';

const WORKER = fileURLToPath(new URL('../../../worker/', import.meta.url));

describe('the pipeline definition', () => {
  it('names a module that exists for every stage', () => {
    for (const stage of PIPELINE) expect(existsSync(WORKER + stage.module), `${stage.name}: worker/${stage.module}`).toBe(true);
  });

  it('lists the stages in the order the audio flows', () => {
    const order = PIPELINE.map((s) => s.name);
    const at = (name: string) => order.indexOf(name);
    expect(at('transport input')).toBe(0);
    expect(at('turn detection')).toBeGreaterThan(Math.max(at('VAD'), at('STT chain')));
    expect(at('reply scheduling')).toBeGreaterThan(at('turn detection'));
    expect(at('LLM chain')).toBeGreaterThan(at('reply scheduling'));
    expect(at('text chunker')).toBeGreaterThan(at('LLM chain'));
    expect(at('TTS chain')).toBeGreaterThan(at('text chunker'));
    expect(order.at(-1)).toBe('transport output');
  });
});
