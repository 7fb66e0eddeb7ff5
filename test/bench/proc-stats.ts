// CPU time and memory of another process, from /proc (Linux): what the density part reads of each worker.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5_000 }).trim()) || 100;
    } catch {
      ticksPerSecond = 100; // Linux's USER_HZ nearly everywhere
    }
  }
  return ticksPerSecond;
}

/** User + system CPU seconds the process has used so far; undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces, so it is in parentheses): state is the first, utime the 12th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  } catch {
    return undefined;
  }
}

export interface Memory {
  rssBytes: number;
  rssAnonBytes: number;
  rssFileBytes: number;
  /** Proportional set size: shared pages (node, the native libraries) divided among the processes that map them. */
  pssBytes?: number;
}

const kib = (text: string, key: string) => {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) * 1024 : 0;
};

export function memory(pid: number): Memory | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const out: Memory = { rssBytes: kib(status, 'VmRSS'), rssAnonBytes: kib(status, 'RssAnon'), rssFileBytes: kib(status, 'RssFile') };
    try {
      out.pssBytes = kib(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'), 'Pss');
    } catch {
      // Older kernels have no smaps_rollup: RSS alone.
    }
    return out;
  } catch {
    return undefined;
  }
}
