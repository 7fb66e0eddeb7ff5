// Which of onnxruntime's int8 matrix kernels the Smart Turn model (int8, dynamically quantised) runs on here. They do
// not agree: without VNNI, x86 multiplies u8 × s8 with vpmaddubsw, whose 16-bit pair sums saturate. On AVX2 that gave
// the test signal 0.051 instead of 0.025 and called 9 more of 28 unfinished espeak sentences complete (pipecat's own
// runtime does the same), so on AVX2 the model is loaded with onnxruntime's exact u8 × u8 kernels instead
// (smart-turn-model.ts). Without AVX2 (SSE4.1 only) that option has no effect, and the drift is small (2 of 56
// clips changed tier, one each way).
import { readFileSync } from 'node:fs';

/**
 * - 'vnni': exact int8 dot products (AVX-512 VNNI, AVX-VNNI, AMX).
 * - 'avx2': AVX2, and AVX-512BW without VNNI: vpmaddubsw saturates unless the exact kernels are asked for.
 * - 'sse4': no AVX2.
 * - 'unknown': not x86-64 Linux, or flags we cannot read.
 */
export type Int8Kernel = 'vnni' | 'avx2' | 'sse4' | 'unknown';

export function int8KernelOf(cpuFlags: ReadonlySet<string>): Int8Kernel {
  if (['amx_int8', 'avx512_vnni', 'avx_vnni'].some((flag) => cpuFlags.has(flag))) return 'vnni';
  if (cpuFlags.has('avx2')) return 'avx2';
  if (cpuFlags.has('sse4_1')) return 'sse4';
  return 'unknown';
}

/** The flags of the first CPU in /proc/cpuinfo ("flags : fpu vme …"); an empty set where there is none. */
export function cpuFlagsOf(cpuinfo: string): Set<string> {
  const line = cpuinfo.match(/^flags\s*:(.*)$/m)?.[1] ?? '';
  return new Set(line.split(/\s+/).filter(Boolean));
}

export function hostInt8Kernel(): Int8Kernel {
  if (process.platform !== 'linux' || process.arch !== 'x64') return 'unknown';
  try {
    return int8KernelOf(cpuFlagsOf(readFileSync('/proc/cpuinfo', 'utf8')));
  } catch {
    return 'unknown';
  }
}
