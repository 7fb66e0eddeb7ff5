// Real audio for the audio tests, made on the spot with espeak-ng (speech) and sox (tones, noise, silence, mixing,
// format conversion) into a temp dir: no binary fixtures in the repo, and the speech is real synthesized speech.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const INSTALL_HINT = 'the audio tests need espeak-ng and sox: apt-get install espeak-ng sox';

function run(tool: string, args: string[]): string {
  try {
    return execFileSync(tool, args, { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`${tool} is not installed: ${INSTALL_HINT}`);
    throw new Error(`${tool} ${args.join(' ')} failed: ${(error as { stderr?: string }).stderr ?? String(error)}`);
  }
}

export class AudioWorkbench {
  readonly dir: string;

  constructor() {
    run('espeak-ng', ['--version']);
    run('sox', ['--version']);
    this.dir = mkdtempSync(join(tmpdir(), 'audio-test-'));
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  /** espeak-ng's own output: 16-bit mono at 22.05 kHz. */
  speak(name: string, text: string): string {
    run('espeak-ng', ['-w', this.path(name), text]);
    return this.path(name);
  }

  /** `sox ...args`, with names resolved inside the workbench; returns the last argument's path (the output). */
  sox(...args: string[]): string {
    const resolved = args.map((arg) => (arg.endsWith('.wav') ? this.path(arg) : arg));
    run('sox', resolved);
    return resolved[resolved.length - 1]!;
  }

  silence(name: string, seconds: number, rate: number): string {
    return this.sox('-n', '-r', String(rate), '-c', '1', '-b', '16', name, 'trim', '0', String(seconds));
  }

  durationSeconds(name: string): number {
    return Number(run('soxi', ['-D', this.path(name)]).trim());
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** [first, last] 10 ms frame above `floor` RMS, in ms from the start: where the sound in a clip really is. */
export function soundExtentMs(pcm: Int16Array, sampleRate: number, floor = 300): { onsetMs: number; offsetMs: number } {
  const frame = Math.round(sampleRate / 100);
  let first = -1;
  let last = -1;
  for (let i = 0; i * frame + frame <= pcm.length; i++) {
    let sum = 0;
    for (let j = i * frame; j < (i + 1) * frame; j++) sum += pcm[j]! ** 2;
    if (Math.sqrt(sum / frame) > floor) {
      if (first < 0) first = i;
      last = i;
    }
  }
  if (first < 0) throw new Error('no sound above the floor in this clip');
  return { onsetMs: first * 10, offsetMs: (last + 1) * 10 };
}

export function sine(frequencyHz: number, seconds: number, sampleRate: number, amplitude: number): Int16Array {
  const pcm = new Int16Array(Math.round(seconds * sampleRate));
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(amplitude * Math.sin((2 * Math.PI * frequencyHz * i) / sampleRate));
  return pcm;
}

export function rms(pcm: Int16Array): number {
  let sum = 0;
  for (const sample of pcm) sum += sample * sample;
  return Math.sqrt(sum / Math.max(1, pcm.length));
}
