// The two switches of preemptive answers and false-interruption resume: on by default, on|off only, and a bad value
// names the variable (preempt.test.ts and false-interruption.test.ts cover what each does on and off).
import { describe, expect, it } from 'vitest';
import { parseAgentConfig, WorkerConfigError } from '../../../worker/config.ts';

describe('PREEMPTIVE_GENERATION and RESUME_FALSE_INTERRUPTIONS', () => {
  it('default to on, take on|off, and name themselves when the value is bad', () => {
    for (const name of ['PREEMPTIVE_GENERATION', 'RESUME_FALSE_INTERRUPTIONS'] as const) {
      expect(parseAgentConfig({})[name]).toBe(true);
      expect(parseAgentConfig({ [name]: 'off' })[name]).toBe(false);
      expect(parseAgentConfig({ [name]: 'on' })[name]).toBe(true);
      for (const bad of ['yes', 'true', '1', '']) {
        expect(() => parseAgentConfig({ [name]: bad })).toThrow(WorkerConfigError);
        expect(() => parseAgentConfig({ [name]: bad })).toThrow(new RegExp(name));
      }
    }
  });
});
