// The lock around a peer install: two benches installing at once run one after the other, and a lock left by a
// process that died is taken over instead of waited on.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withInstallLock } from './install-lock.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'install-lock-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('withInstallLock', () => {
  it('runs two installs of the same folder one after the other, and frees the lock after each', async () => {
    const lock = join(dir, 'peer.lock');
    const events: string[] = [];
    const install = (name: string) =>
      withInstallLock(lock, () => undefined, async () => {
        events.push(`${name} start`);
        await new Promise((r) => setTimeout(r, 100));
        events.push(`${name} end`);
        return name;
      });
    expect(await Promise.all([install('a'), install('b')])).toEqual(['a', 'b']);
    // Whichever took the lock first, the other started only after it ended.
    const first = events[0]!.split(' ')[0]!;
    const second = first === 'a' ? 'b' : 'a';
    expect(events).toEqual([`${first} start`, `${first} end`, `${second} start`, `${second} end`]);
    expect(existsSync(lock)).toBe(false);
  });

  it('takes over a lock whose owner is no longer running, and frees it when the work throws', async () => {
    const lock = join(dir, 'peer.lock');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    await mkdir(lock);
    await writeFile(join(lock, 'pid'), dead);
    await expect(withInstallLock(lock, () => undefined, async () => Promise.reject(new Error('npm failed')))).rejects.toThrow('npm failed');
    expect(existsSync(lock)).toBe(false);
  });
});
