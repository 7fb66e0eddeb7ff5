// What this process costs, for metrics batches and the console report.

export interface ProcessStats {
  /** CPU time (user + system) this process has used since it started. */
  cpuMs: number;
  rssBytes: number;
}

export function processStats(): ProcessStats {
  const cpu = process.cpuUsage();
  return { cpuMs: Math.round((cpu.user + cpu.system) / 1000), rssBytes: process.memoryUsage.rss() };
}
