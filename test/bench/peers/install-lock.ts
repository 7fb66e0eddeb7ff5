// A lock between processes around one install: a directory made with mkdir (atomic: exactly one maker wins) holding
// the owner's pid. A waiter polls; a lock whose owner is no longer running (a bench killed mid-install) is taken over.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

const POLL_MS = 500;
const WAIT_LIMIT_MS = 15 * 60_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function tryTake(lock: string): Promise<boolean> {
  try {
    await mkdir(lock);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  await writeFile(join(lock, 'pid'), String(process.pid));
  return true;
}

async function ownerGone(lock: string): Promise<boolean> {
  const pid = Number(await readFile(join(lock, 'pid'), 'utf8').catch(() => ''));
  // No pid yet: the owner is between mkdir and writeFile; give it the benefit of the doubt.
  return Number.isInteger(pid) && pid > 0 && !alive(pid);
}

export async function withInstallLock<T>(lock: string, progress: (line: string) => void, work: () => Promise<T>): Promise<T> {
  await mkdir(dirname(lock), { recursive: true });
  const startedAt = Date.now();
  let told = false;
  while (!(await tryTake(lock))) {
    if (await ownerGone(lock)) {
      await rm(lock, { recursive: true, force: true });
      continue;
    }
    if (!told) progress(`another bench holds ${lock}: waiting for its install to finish`);
    told = true;
    if (Date.now() - startedAt > WAIT_LIMIT_MS) throw new Error(`${lock} held for over ${WAIT_LIMIT_MS / 60_000} min`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  try {
    return await work();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}
