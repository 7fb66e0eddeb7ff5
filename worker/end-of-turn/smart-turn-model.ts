// Smart Turn v3.2 (pipecat-ai, BSD-2-Clause; see scripts/fetch-turn-model.sh for where the file comes from and its
// licence) on onnxruntime-node: one [1, 80, 800] log-mel input, one sigmoid output, the probability that the speaker
// has finished their turn. This class runs the model where it is created; the detector keeps it on its own thread
// (model-thread.ts), so that 20–60 ms of features and inference never hold up the audio on the main event loop.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { TurnModelInferenceError, TurnModelLoadError, TurnModelMissingError } from './errors.ts';
import { hostInt8Kernel, type Int8Kernel } from './int8-kernel.ts';
import { LogMelExtractor, N_FRAMES, N_MELS } from './log-mel.ts';

/** Where scripts/fetch-turn-model.sh puts the model. */
export const DEFAULT_TURN_MODEL_PATH = join(import.meta.dirname, '..', '..', '.tools', 'models', 'smart-turn', 'smart-turn-v3.2-cpu.onnx');

export class SmartTurnModel {
  #session: InferenceSession;
  #features = new LogMelExtractor();

  private constructor(session: InferenceSession) {
    this.#session = session;
  }

  /**
   * Throws TurnModelMissingError when the file is absent, TurnModelLoadError when it is not this model. `int8Kernel`
   * is the CPU's (tests name another when they run this under an emulated CPU, whose /proc/cpuinfo is the host's).
   */
  static async load(path: string = DEFAULT_TURN_MODEL_PATH, int8Kernel: Int8Kernel = hostInt8Kernel()): Promise<SmartTurnModel> {
    if (!existsSync(path)) throw new TurnModelMissingError(path);
    let session: InferenceSession;
    try {
      // One thread, as pipecat runs it: a worker serves one room on a small machine.
      session = await InferenceSession.create(path, {
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        logSeverityLevel: 3,
        // AVX2's u8 × s8 kernel saturates and moved unfinished sentences towards "complete" (int8-kernel.ts); this
        // makes onnxruntime rewrite the weights to u8 and multiply exactly, as VNNI does. Not set on VNNI, where it
        // is not needed and made each inference ≈ 40% slower.
        ...(int8Kernel === 'avx2' ? { extra: { session: { x64quantprecision: '1' } } } : {}),
      });
    } catch (error) {
      throw new TurnModelLoadError(path, (error as Error).message, { cause: error });
    }
    if (!session.inputNames.includes('input_features') || session.outputNames.length !== 1) {
      await session.release();
      throw new TurnModelLoadError(path, `expected one input "input_features" and one output, found ${session.inputNames} → ${session.outputNames}`);
    }
    return new SmartTurnModel(session);
  }

  /** Probability (0–1) that the turn is complete, judged on the last 8 s of `pcm16k` (16 kHz mono). */
  async probability(pcm16k: Int16Array): Promise<number> {
    const features = this.#features.extract(pcm16k);
    const outputs = await this.#session.run({ input_features: new Tensor('float32', features, [1, N_MELS, N_FRAMES]) });
    const value = outputs[this.#session.outputNames[0]!]?.data[0];
    if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
      throw new TurnModelInferenceError(`the end-of-turn model answered ${String(value)}, not a probability`);
    }
    return value;
  }

  async dispose(): Promise<void> {
    await this.#session.release();
  }
}
