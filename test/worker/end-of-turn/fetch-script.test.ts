// The set-up fetch of the model: pinned (the file in place is the one the script's sha256 names), idempotent (a second
// run finds it and downloads nothing), and the licence travels with it.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TURN_MODEL_PATH } from '../../../worker/end-of-turn/smart-turn-model.ts';

const REPO = join(import.meta.dirname, '..', '..', '..');
const SCRIPT = join(REPO, 'scripts', 'fetch-turn-model.sh');

describe('scripts/fetch-turn-model.sh', () => {
  it('pins the model it put in place, and leaves it alone when run again', () => {
    const pinned = readFileSync(SCRIPT, 'utf8').match(/^MODEL_SHA256=([0-9a-f]{64})$/m)?.[1];
    const actual = createHash('sha256').update(readFileSync(DEFAULT_TURN_MODEL_PATH)).digest('hex');
    expect(actual).toBe(pinned);
    const output = execFileSync('bash', [SCRIPT], { cwd: REPO, encoding: 'utf8', timeout: 20_000 });
    expect(output).toContain('already present (sha256 ok)');
    expect(output).not.toContain('downloading');
  });

  it('pins the wheel by version and sha256', () => {
    const script = readFileSync(SCRIPT, 'utf8');
    expect(script).toMatch(/^PIPECAT_VERSION=\d+\.\d+\.\d+$/m);
    expect(script).toMatch(/^WHEEL_SHA256=[0-9a-f]{64}$/m);
    expect(script).toContain('sha256sum --check');
  });

  it('puts the wheel’s licence (BSD 2-Clause) next to the model', () => {
    const licence = readFileSync(join(dirname(DEFAULT_TURN_MODEL_PATH), 'LICENSE'), 'utf8');
    expect(licence).toContain('BSD 2-Clause License');
    expect(licence).toContain('Daily');
  });
});
