// The end-of-turn model's own thread (node:worker_threads entry). Features (~20–50 ms of JavaScript) and inference run
// here, so the main event loop, which carries the audio, never waits on them. Protocol: see model-client.ts.
import { parentPort, workerData } from 'node:worker_threads';
import type { Int8Kernel } from './int8-kernel.ts';
import { SmartTurnModel } from './smart-turn-model.ts';
import type { FromThread, ToThread } from './model-client.ts';

const port = parentPort;
if (port === null) throw new Error('model-thread.ts runs as a worker thread (see model-client.ts)');
const post = (message: FromThread) => port.postMessage(message);

try {
  const { path, int8Kernel } = workerData as { path: string; int8Kernel: Int8Kernel };
  const model = await SmartTurnModel.load(path, int8Kernel);
  // The first runs pay for JIT compilation of the features and ONNX Runtime's first-run set-up (several times a warm
  // call): paid here, at load, rather than by the caller's first turn.
  for (let i = 0; i < 2; i++) await model.probability(new Int16Array(16_000));
  // One question at a time, in the order asked; a close waits for the questions before it.
  let queue = Promise.resolve();
  port.on('message', (message: ToThread) => {
    queue = queue.then(async () => {
      if (message.type === 'close') {
        await model.dispose();
        port.close();
        return;
      }
      const startedAt = performance.now();
      try {
        const probability = await model.probability(message.pcm16k);
        post({ type: 'result', id: message.id, probability, inferenceMs: performance.now() - startedAt });
      } catch (error) {
        post({ type: 'failed', id: message.id, name: (error as Error).name, message: (error as Error).message });
      }
    });
  });
  post({ type: 'ready' });
} catch (error) {
  const { name, message } = error as Error;
  post({ type: 'load-failed', name, message });
}
