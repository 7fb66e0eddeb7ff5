// Prints the model's probability for the reference signal, as one JSON line. emulated-cpu.test.ts runs it under
// qemu-user as CPUs with other int8 kernels, so that every machine checks all the reference figures. argv[2]: the
// int8 kernel to load the model for (the emulated CPU's; /proc/cpuinfo there is still the host's).
import type { Int8Kernel } from '../../../worker/end-of-turn/int8-kernel.ts';
import { SmartTurnModel } from '../../../worker/end-of-turn/smart-turn-model.ts';
import { referenceSignal } from './reference-signal.ts';

const model = await SmartTurnModel.load(undefined, process.argv[2] as Int8Kernel);
console.log(JSON.stringify({ probability: await model.probability(referenceSignal()) }));
await model.dispose();
