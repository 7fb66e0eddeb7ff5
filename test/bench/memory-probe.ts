// Run as a child of the bench (node --expose-gc test/bench/memory-probe.ts): loads what a worker loads, one part at
// a time, and prints one JSON line with process.memoryUsage() after each (after a full GC), so the bench can say
// where a worker's memory goes by difference: node itself, our code and the provider SDKs, rtc-node's native
// runtime, onnxruntime with the Silero model. Estimates: a part's allocations may grow later, with traffic.
const gc = (globalThis as { gc?: () => void }).gc;

interface Step {
  step: string;
  rssBytes: number;
  heapTotalBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
}

const steps: Step[] = [];
function measure(step: string): void {
  gc?.();
  const m = process.memoryUsage();
  steps.push({ step, rssBytes: m.rss, heapTotalBytes: m.heapTotal, heapUsedBytes: m.heapUsed, externalBytes: m.external });
}

// Native parts first, so each is measured on its own; the worker's code would pull them in with it.
measure('node');
const rtc = await import('@livekit/rtc-node');
// An AudioSource starts rtc-node's FFI runtime (its native threads and buffers), as the worker's transport does.
const source = new rtc.AudioSource(24_000, 1, 1_000);
await source.captureFrame(new rtc.AudioFrame(new Int16Array(480), 24_000, 1, 480));
measure('rtc-node (FFI runtime, one AudioSource)');
const { SileroActivity } = await import('../../worker/agent/silero-activity.ts');
const vad = await SileroActivity.create({ minSilenceMs: 500 });
// A second of inference, so the session's working buffers exist.
for (let i = 0; i < 50; i++) await vad.push(new Int16Array(320));
measure('onnxruntime + Silero VAD (one session, after inference)');
await import('../../worker/providers/registry.ts');
await import('../../worker/assemble.ts');
measure('worker code + provider SDKs');
process.stdout.write(`${JSON.stringify({ steps })}\n`);
await vad.dispose?.();
await source.close();
await rtc.dispose();
