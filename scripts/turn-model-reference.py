# How the reference figures in test/worker/end-of-turn/reference-signal.ts were made: pipecat-ai's own Smart Turn v3
# path (its vendored Whisper features, its session options, its left padding to 8 s) on the reference signal. Not run
# by the tests or CI (they never run pipecat); run it by hand when the model or its pin changes:
#   python3 -m pip download pipecat-ai==1.14.0 --no-deps --only-binary=:all: -d /tmp/ref
#   python3 -c "import zipfile; zipfile.ZipFile('/tmp/ref/pipecat_ai-1.14.0-py3-none-any.whl').extractall('/tmp/ref/wheel')"
#   python3 -m pip install --target /tmp/ref/py onnxruntime==1.30.0 numpy --break-system-packages
#   PYTHONPATH=/tmp/ref/py python3 scripts/turn-model-reference.py /tmp/ref/wheel --save-features /tmp/ref/f.npy
# For another CPU's int8 kernel, run it under Debian's qemu-user (`qemu-x86_64 -cpu Haswell-v4 <python3 binary> …`);
# where numpy's feature code does not survive the emulation, pass `--features /tmp/ref/f.npy` from a native run.
import argparse
import importlib.util

import numpy as np
import onnxruntime as ort

parser = argparse.ArgumentParser()
parser.add_argument("wheel", help="the unpacked pipecat-ai wheel")
parser.add_argument("--features", help="features saved by an earlier run, instead of computing them")
parser.add_argument("--save-features", help="where to save the computed features")
parser.add_argument("--precise", action="store_true", help="onnxruntime's exact u8 x u8 int8 kernels (session.x64quantprecision)")
args = parser.parse_args()
turn_dir = f"{args.wheel}/pipecat/audio/turn/smart_turn"

if args.features:
    features = np.load(args.features)
else:
    spec = importlib.util.spec_from_file_location("whisper_features", f"{turn_dir}/_whisper_features.py")
    whisper_features = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(whisper_features)
    n = np.arange(48000)
    signal = np.trunc(
        6000 * np.sin(2 * np.pi * 440 * n / 16000)
        + 3000 * np.sin(2 * np.pi * (200 + 600 * n / 48000) * n / 16000)
        + 1500 * np.sin(2 * np.pi * 3100 * n / 16000)
    )
    audio = signal.astype(np.int16).astype(np.float32) / 32768.0
    audio = np.pad(audio, (128000 - len(audio), 0), mode="constant", constant_values=0)
    features = whisper_features.compute_whisper_log_mel_features(audio, do_normalize=True)
    if args.save_features:
        np.save(args.save_features, features)
    print("min", repr(float(features.min())), "max", repr(float(features.max())))

options = ort.SessionOptions()
options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
options.inter_op_num_threads = 1
options.intra_op_num_threads = 1
options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
if args.precise:
    options.add_session_config_entry("session.x64quantprecision", "1")
session = ort.InferenceSession(f"{turn_dir}/data/smart-turn-v3.2-cpu.onnx", sess_options=options)
probability = session.run(None, {"input_features": features[None]})[0][0].item()
print("onnxruntime", ort.__version__, "probability", repr(float(probability)))
