// The peers are bench inputs installed at bench time into git-ignored folders under .bench/peers/, with pinned
// versions, never into our node_modules: LiveKit Agents for Node with npm (its own package.json, written here), and
// Pipecat with pip into a virtualenv. A folder whose marker file names the same pins is reused as it is.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { withInstallLock } from './install-lock.ts';
import type { DelaySet, PeerProfiles } from './profile.ts';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const REPO_ROOT = resolve(import.meta.dirname, '../../..');
export const PEERS_DIR = join(REPO_ROOT, '.bench', 'peers');
export const LIVEKIT_AGENTS_DIR = join(PEERS_DIR, 'livekit-agents');
export const PIPECAT_VENV = join(PEERS_DIR, 'pipecat-venv');
const INSTALL_TIMEOUT_MS = 10 * 60_000;

/** The newest releases on the registries when this bench was written (December 2026). */
export const LIVEKIT_AGENTS_PINS = {
  '@livekit/agents': '1.9.0',
  '@livekit/agents-plugin-silero': '1.9.0',
  '@livekit/agents-plugin-deepgram': '1.9.0',
  '@livekit/agents-plugin-openai': '1.9.0',
  '@livekit/agents-plugin-elevenlabs': '1.9.0',
  // Their peer dependency (^0.13.34); ours is 1.x, and theirs stays in their folder.
  '@livekit/rtc-node': '0.13.35',
  zod: '4.6.7',
};
export const PIPECAT_SPEC = 'pipecat-ai[livekit,silero,deepgram,openai,elevenlabs]==1.14.0';
/** Pipecat 1.14 supports Python 3.10-3.13; pyenv's 3.12 here. PIPECAT_PYTHON overrides. */
const PIPECAT_PYTHON = process.env['PIPECAT_PYTHON'] ?? '/root/.pyenv/versions/3.12.1/bin/python3';

export interface InstallResult {
  ok: boolean;
  /** Wall time of the install; 0 when the folder was reused. */
  ms: number;
  reused: boolean;
  command: string;
  error?: string;
}

/** What every peers report says about how it ran: the fakes' delays and profiles, the peers' versions and installs. */
export interface PeerRunSetup {
  delays: DelaySet;
  profiles: PeerProfiles;
  versions: { livekitAgents: typeof LIVEKIT_AGENTS_PINS; pipecat: string };
  installs: { livekitAgents: InstallResult; pipecat: InstallResult };
}

async function marker(dir: string): Promise<string | undefined> {
  return readFile(join(dir, '.bench-installed'), 'utf8').catch(() => undefined);
}

// Two bench processes may install at once (.bench is shared between worktrees): each install runs under a lock on its
// folder, and the second one then finds the marker the first one wrote.
export function installLiveKitAgents(progress: (line: string) => void): Promise<InstallResult> {
  return withInstallLock(`${LIVEKIT_AGENTS_DIR}.lock`, progress, () => installLiveKitAgentsLocked(progress));
}

async function installLiveKitAgentsLocked(progress: (line: string) => void): Promise<InstallResult> {
  const pins = JSON.stringify(LIVEKIT_AGENTS_PINS);
  // ONNXRUNTIME_NODE_INSTALL=skip: onnxruntime-node's postinstall would look for GPU builds; its CPU binary ships in the tarball.
  const command = `ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix ${LIVEKIT_AGENTS_DIR} --no-audit --no-fund`;
  const installed = (await marker(LIVEKIT_AGENTS_DIR)) === pins;
  if (!installed) {
    await mkdir(LIVEKIT_AGENTS_DIR, { recursive: true });
    const manifest = { name: 'bench-peer-livekit-agents', private: true, type: 'module', dependencies: LIVEKIT_AGENTS_PINS };
    await writeFile(join(LIVEKIT_AGENTS_DIR, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  }
  // The agent script is a bench input kept with our sources; it runs from their folder so its imports resolve there.
  await copyFile(join(import.meta.dirname, 'livekit-agent.mjs'), join(LIVEKIT_AGENTS_DIR, 'agent.mjs'));
  if (installed) return { ok: true, ms: 0, reused: true, command };
  progress(`installing LiveKit Agents ${LIVEKIT_AGENTS_PINS['@livekit/agents']} with npm into ${LIVEKIT_AGENTS_DIR} (~30 s)`);
  const startedAt = performance.now();
  try {
    await run('npm', ['install', '--prefix', LIVEKIT_AGENTS_DIR, '--no-audit', '--no-fund'], {
      cwd: LIVEKIT_AGENTS_DIR,
      env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
      timeout: INSTALL_TIMEOUT_MS,
      maxBuffer: 16 * 2 ** 20,
    });
  } catch (error) {
    return { ok: false, ms: performance.now() - startedAt, reused: false, command, error: String((error as Error).message).slice(0, 2_000) };
  }
  await writeFile(join(LIVEKIT_AGENTS_DIR, '.bench-installed'), pins);
  return { ok: true, ms: performance.now() - startedAt, reused: false, command };
}

export function pipecatPython(): string {
  return join(PIPECAT_VENV, 'bin', 'python');
}

export function installPipecat(progress: (line: string) => void): Promise<InstallResult> {
  return withInstallLock(`${PIPECAT_VENV}.lock`, progress, () => installPipecatLocked(progress));
}

async function installPipecatLocked(progress: (line: string) => void): Promise<InstallResult> {
  const command = `${PIPECAT_PYTHON} -m venv ${PIPECAT_VENV} && ${PIPECAT_VENV}/bin/pip install '${PIPECAT_SPEC}'`;
  if ((await marker(PIPECAT_VENV)) === PIPECAT_SPEC) return { ok: true, ms: 0, reused: true, command };
  if (!existsSync(PIPECAT_PYTHON)) return { ok: false, ms: 0, reused: false, command, error: `no Python at ${PIPECAT_PYTHON} (set PIPECAT_PYTHON)` };
  progress(`installing ${PIPECAT_SPEC} with pip into ${PIPECAT_VENV} (~1 min)`);
  const startedAt = performance.now();
  try {
    await run(PIPECAT_PYTHON, ['-m', 'venv', PIPECAT_VENV], { timeout: 120_000 });
    await run(pipecatPython(), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', PIPECAT_SPEC], {
      timeout: INSTALL_TIMEOUT_MS,
      maxBuffer: 16 * 2 ** 20,
    });
  } catch (error) {
    return { ok: false, ms: performance.now() - startedAt, reused: false, command, error: String((error as Error).message).slice(0, 2_000) };
  }
  await writeFile(join(PIPECAT_VENV, '.bench-installed'), PIPECAT_SPEC);
  return { ok: true, ms: performance.now() - startedAt, reused: false, command };
}
