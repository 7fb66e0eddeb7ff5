// The end-of-turn and user-away settings as the worker parses them: defaults that are the detector's own, a bad value
// or waits out of order stopped at start naming the variable.
import { describe, expect, it } from 'vitest';
import { parseAgentConfig, WorkerConfigError } from '../../../worker/config.ts';
import { DEFAULT_WAIT_POLICY } from '../../../worker/end-of-turn/detector.ts';

describe('END_OF_TURN settings', () => {
  it('defaults to the model with the policy’s own waits, and a goodbye after the check-in', () => {
    const c = parseAgentConfig({});
    expect(c.END_OF_TURN).toBe('model');
    expect([c.END_OF_TURN_COMPLETE_WAIT_MS, c.END_OF_TURN_UNSURE_WAIT_MS, c.END_OF_TURN_INCOMPLETE_WAIT_MS]).toEqual([
      DEFAULT_WAIT_POLICY.completeWaitMs,
      DEFAULT_WAIT_POLICY.unsureWaitMs,
      DEFAULT_WAIT_POLICY.incompleteWaitMs,
    ]);
    expect(c.AWAY_GOODBYE_MS).toBeGreaterThan(0);
    expect(c.AWAY_GOODBYE_TEXT.length).toBeGreaterThan(0);
  });

  it('refuses an unknown mode, a wait over 5 s, and waits out of order, naming the variable', () => {
    const fails = (env: Record<string, string>) => {
      try {
        parseAgentConfig(env);
      } catch (err) {
        expect(err).toBeInstanceOf(WorkerConfigError);
        return (err as Error).message;
      }
      throw new Error('accepted');
    };
    expect(fails({ END_OF_TURN: 'smart' })).toContain('END_OF_TURN');
    expect(fails({ END_OF_TURN_INCOMPLETE_WAIT_MS: '9000' })).toContain('END_OF_TURN_INCOMPLETE_WAIT_MS');
    expect(fails({ END_OF_TURN_COMPLETE_WAIT_MS: '700' })).toContain('END_OF_TURN_COMPLETE_WAIT_MS: must not exceed END_OF_TURN_UNSURE_WAIT_MS');
    expect(fails({ END_OF_TURN_UNSURE_WAIT_MS: '1600' })).toContain('END_OF_TURN_UNSURE_WAIT_MS: must not exceed END_OF_TURN_INCOMPLETE_WAIT_MS');
    expect(parseAgentConfig({ END_OF_TURN: 'fixed', AWAY_GOODBYE_MS: '0' })).toMatchObject({ END_OF_TURN: 'fixed', AWAY_GOODBYE_MS: 0 });
  });
});
