// A deterministic test signal and what pipecat-ai 1.14.0's own Python computes for it, so that our reimplementation
// of the Smart Turn input is checked against the reference rather than against itself. The figures come from
// scripts/turn-model-reference.py: the wheel's pipecat/audio/turn/smart_turn/_whisper_features.py (numpy 2.4) and
// onnxruntime 1.30.0 from PyPI on smart-turn-v3.2-cpu.onnx, with local_smart_turn_v3.py's session options, for this
// same signal left-padded to 8 s exactly as local_smart_turn_v3.py does:
//   n = arange(48000); x = trunc(6000·sin(2π·440n/16k) + 3000·sin(2π·(200 + 600n/48000)·n/16k) + 1500·sin(2π·3100n/16k))
import { hostInt8Kernel } from '../../../worker/end-of-turn/int8-kernel.ts';

export function referenceSignal(): Int16Array {
  const pcm = new Int16Array(48_000);
  for (let n = 0; n < pcm.length; n++) {
    const value =
      6000 * Math.sin((2 * Math.PI * 440 * n) / 16_000) +
      3000 * Math.sin((2 * Math.PI * (200 + (600 * n) / 48_000) * n) / 16_000) +
      1500 * Math.sin((2 * Math.PI * 3100 * n) / 16_000);
    pcm[n] = Math.trunc(value);
  }
  return pcm;
}

/** [mel, frame, value] of the reference features (80 × 800). */
export const REFERENCE_FEATURES: ReadonlyArray<readonly [number, number, number]> = [
  [0, 0, -0.17202557623386383], // the left padding: clamped to max − 8
  [20, 600, -0.1121336966753006],
  [47, 799, 0.29852500557899475],
  [10, 650, 1.6505054235458374], // the 440 Hz tone
  [11, 650, 1.739971399307251],
  [12, 700, 1.5952926874160767],
  [30, 750, 1.5285859107971191], // the sweep
  [55, 600, 1.3350846767425537], // the 3.1 kHz tone
  [56, 610, 1.2465306520462036],
  [40, 520, -0.17202557623386383],
];
export const REFERENCE_MIN = -0.17202557623386383;
export const REFERENCE_MAX = 1.8279744386672974;
/**
 * The model's output for those features. The features are the same on every CPU; the probability depends on which of
 * onnxruntime's int8 kernels multiplies (worker/end-of-turn/int8-kernel.ts):
 * - `exact`: natively on an AMD EPYC with AVX-512 VNNI, and on AVX2 with `session.x64quantprecision`, as our model
 *   loads it there (under Debian's qemu-user as `qemu-x86_64 -cpu Haswell-v4`);
 * - `avx2Saturated`: AVX2 without that option, which is what pipecat runs (the same figure a CI machine without VNNI
 *   gave before the option was set);
 * - `sse4`: `-cpu SandyBridge`, where the option has no effect, with the features from the native run (numpy's own
 *   code dies of an illegal instruction under that emulation; onnxruntime does not).
 */
export const REFERENCE_PROBABILITY = {
  exact: 0.025013476610183716,
  avx2Saturated: 0.05143404006958008,
  sse4: 0.022287964820861816,
} as const;

/** The figure for the kernel the model runs on here; on a CPU we have none for, an error that says how to make one. */
export function referenceProbabilityHere(): number {
  const kernel = hostInt8Kernel();
  if (kernel === 'unknown') {
    throw new Error(`no reference probability for this CPU (${process.platform}/${process.arch}): compute one with scripts/turn-model-reference.py`);
  }
  return kernel === 'sse4' ? REFERENCE_PROBABILITY.sse4 : REFERENCE_PROBABILITY.exact;
}
