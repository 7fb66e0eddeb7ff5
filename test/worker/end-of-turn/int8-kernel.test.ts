// Which int8 kernel the model runs on, from the CPU's flags: the first match of VNNI, then AVX2, then SSE4.1.
import { describe, expect, it } from 'vitest';
import { cpuFlagsOf, hostInt8Kernel, int8KernelOf } from '../../../worker/end-of-turn/int8-kernel.ts';

const flags = (line: string) => new Set(line.split(' '));

describe('int8KernelOf', () => {
  it('names VNNI in any of its forms before AVX2', () => {
    expect(int8KernelOf(flags('sse4_1 avx2 avx512f avx512bw avx512_vnni'))).toBe('vnni');
    expect(int8KernelOf(flags('sse4_1 avx2 avx_vnni'))).toBe('vnni');
    expect(int8KernelOf(flags('sse4_1 avx2 amx_int8'))).toBe('vnni');
  });

  it('counts AVX-512 without VNNI as the saturating AVX2 kind, and SSE4.1 alone as sse4', () => {
    expect(int8KernelOf(flags('sse4_1 avx2 avx512f avx512bw'))).toBe('avx2');
    expect(int8KernelOf(flags('sse4_1 sse4_2 avx'))).toBe('sse4');
    expect(int8KernelOf(new Set())).toBe('unknown');
  });
});

describe('cpuFlagsOf', () => {
  it('reads the first CPU’s flags line of /proc/cpuinfo', () => {
    const cpuinfo = 'processor\t: 0\nflags\t\t: fpu sse4_1 avx2\nbugs\t\t: none\n\nprocessor\t: 1\nflags\t\t: fpu\n';
    expect([...cpuFlagsOf(cpuinfo)]).toEqual(['fpu', 'sse4_1', 'avx2']);
    expect(cpuFlagsOf('processor\t: 0\n').size).toBe(0);
  });

  it('names a kernel for the machine the tests run on (x86-64 Linux)', () => {
    expect(hostInt8Kernel()).not.toBe('unknown');
  });
});
