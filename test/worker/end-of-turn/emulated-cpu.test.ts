// The Smart Turn model on CPUs this machine is not: onnxruntime picks its int8 kernel from CPUID, which qemu-user
// (installed by setup) presents as the CPU named, so every machine checks the figures of the other kernels too. VNNI
// is only checked where the machine has it (detector.test.ts): qemu 7.2 cannot emulate it. Each run is ≈ 10 s of one
// core emulated, so this file runs alone (vitest.config.ts), where it starves no room test.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { Int8Kernel } from '../../../worker/end-of-turn/int8-kernel.ts';
import { REFERENCE_PROBABILITY } from './reference-signal.ts';

/** The model's probability for the reference signal on an emulated `cpu`, loaded as the worker loads it for `loadedFor`. */
async function onEmulated(cpu: string, loadedFor: Int8Kernel): Promise<number> {
  const runner = join(import.meta.dirname, 'print-reference-probability.ts');
  const { stdout } = await promisify(execFile)('qemu-x86_64', ['-cpu', cpu, process.execPath, runner, loadedFor], { timeout: 150_000 });
  return (JSON.parse(stdout.trim().split('\n').at(-1)!) as { probability: number }).probability;
}

describe('the Smart Turn model on an emulated CPU', () => {
  it('on an AVX2 CPU without VNNI answers exactly as with VNNI, where pipecat’s saturated kernel does not', async () => {
    expect(await onEmulated('Haswell-v4', 'avx2')).toBeCloseTo(REFERENCE_PROBABILITY.exact, 3);
    // Loaded as if for VNNI (no precise option): the saturated figure, so the emulation does saturate.
    expect(await onEmulated('Haswell-v4', 'vnni')).toBeCloseTo(REFERENCE_PROBABILITY.avx2Saturated, 3);
  }, 240_000);

  it('on a CPU without AVX2 answers pipecat’s figure for that CPU', async () => {
    expect(await onEmulated('SandyBridge', 'sse4')).toBeCloseTo(REFERENCE_PROBABILITY.sse4, 3);
  }, 180_000);
});
