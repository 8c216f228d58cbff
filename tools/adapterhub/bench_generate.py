"""The PyTorch side of polyhead's generation benchmark (bench/generate.ts): AdapterHub's generate().

Loads BartForConditionalGeneration from a store written by bench/seq2seq-store.ts (models/<model>/config.json +
model.safetensors, read by hand: the safetensors package is not needed), loads the adapters from the store's
folders with model.load_adapter (3.2.1 reads pytorch_adapter.bin, so each folder's adapter.safetensors is
re-saved as one in a temporary copy of the folder), and times generate() on the machine's cores (see THREADS).

    /tmp/ah/python tools/adapterhub/bench_generate.py STORE MODEL INPUTS.json            # default cases, one JSON
    /tmp/ah/python tools/adapterhub/bench_generate.py STORE MODEL INPUTS.json --serve    # JSON lines on stdin/stdout

INPUTS.json: {"input_ids": [[...], ...]} (the source token ids, one row each, all the same length).
--serve prints {"ready": ...} once loaded, then for each request line
{"batch": 8, "beams": 1, "new_tokens": 32, "adapters": "a0" | ["a0", ..., "a7"], "reps": 1}
answers {"ms": [...], "token_ids": [[...], ...]} (adapters as a list: AdapterHub's BatchSplit, one row each),
or {"error": "..."}. Needs adapter-transformers 3.2.1 (see README.md here); polyhead's tests never run it.

THREADS. A torch built without MKL (Debian's python3-torch: OpenMP + OpenBLAS) runs each matmul on OpenBLAS's
own threads, inside torch's OpenMP threads: torch.set_num_threads(2) on 2 cores then oversubscribes them, and
generate() was 5x slower there than with set_num_threads(1) (whose matmuls still use both cores, through
OpenBLAS). So the script times a short greedy generate() with 1 and with all cores' intra-op threads and keeps
the faster (the reference at its best); POLYHEAD_REFERENCE_THREADS=N forces N. Both timings are reported.
"""

import json
import os
import shutil
import struct
import sys
import tempfile
import time
import traceback
from collections import OrderedDict

import numpy as np
import torch
import transformers
from transformers import BartConfig, BartForConditionalGeneration
from transformers.adapters.composition import BatchSplit

try:
    from transformers.modeling_utils import no_init_weights
except ImportError:  # pragma: no cover
    import contextlib

    no_init_weights = contextlib.nullcontext

_ST_NP = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32, "U8": np.uint8, "BOOL": np.bool_}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = OrderedDict()
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        arr = np.frombuffer(data[8 + n + a: 8 + n + b], dtype=_ST_NP[v["dtype"]]).reshape(v["shape"])
        out[k] = torch.from_numpy(arr.copy())
    return out


def load(store, model_name):
    folder = os.path.join(store, "models", model_name)
    config = BartConfig.from_json_file(os.path.join(folder, "config.json"))
    with no_init_weights():
        model = BartForConditionalGeneration(config)
    state = read_safetensors(os.path.join(folder, "model.safetensors"))
    missing, unexpected = model.load_state_dict(state, strict=False)
    # the token embeddings of both stacks are model.shared (tied), not saved separately
    missing = [k for k in missing if k not in ("model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight")]
    if missing or unexpected:
        raise SystemExit(f"state dict mismatch: missing {missing[:5]}, unexpected {unexpected[:5]}")
    model.tie_weights()
    model.eval()
    names = []
    root = os.path.join(store, "adapters")
    tmp = tempfile.mkdtemp(prefix="polyhead-bench-ah-")
    try:
        for name in sorted(os.listdir(root), key=lambda n: (len(n), n)):
            src = os.path.join(root, name)
            dst = os.path.join(tmp, name)
            os.makedirs(dst)
            shutil.copy(os.path.join(src, "adapter_config.json"), dst)
            torch.save(read_safetensors(os.path.join(src, "adapter.safetensors")), os.path.join(dst, "pytorch_adapter.bin"))
            names.append(model.load_adapter(dst))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return model, names


class Bench:
    def __init__(self, store, model_name, inputs):
        cores = os.cpu_count() or 1
        torch.set_num_threads(cores)
        t = time.perf_counter()
        self.model, self.adapters = load(store, model_name)
        self.load_s = time.perf_counter() - t
        self.ids = torch.tensor(inputs["input_ids"], dtype=torch.long)
        self.calibration = {}
        forced = os.environ.get("POLYHEAD_REFERENCE_THREADS")
        if forced:
            self.threads = int(forced)
        else:
            for n in sorted({1, cores}):
                torch.set_num_threads(n)
                self.run(batch=len(self.ids), new_tokens=8)  # warm-up
                self.calibration[n] = min(self.run(batch=len(self.ids), new_tokens=8, reps=2)["ms"])
            self.threads = min(self.calibration, key=self.calibration.get)
        torch.set_num_threads(self.threads)

    def run(self, batch=8, beams=1, new_tokens=32, adapters="a0", reps=1):
        if isinstance(adapters, list):
            if len(adapters) != batch:
                raise ValueError("BatchSplit: one adapter per row")
            self.model.set_active_adapters(BatchSplit(*adapters, batch_sizes=[1] * batch))
        else:
            self.model.set_active_adapters(adapters)
        ids = self.ids[:batch]
        mask = torch.ones_like(ids)
        times = []
        out = None
        with torch.no_grad():
            for _ in range(reps):
                t = time.perf_counter()
                out = self.model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=new_tokens, min_length=0, num_beams=beams,
                                          do_sample=False, early_stopping=False, num_return_sequences=1)
                times.append((time.perf_counter() - t) * 1000)
        # drop the decoder start token
        return {"ms": times, "token_ids": out[:, 1:].tolist()}


def serve(bench, ready):
    """JSON lines: `ready` first, then one answer per request line on stdin (an error is an answer too)."""
    print(json.dumps(ready), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            res = bench.run(**json.loads(line))
        except Exception as e:  # noqa: BLE001: report, keep serving
            res = {"error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()[-2000:]}
        print(json.dumps(res), flush=True)


def info(b):
    return {"ready": True, "load_s": b.load_s, "adapters": b.adapters, "torch": torch.__version__, "transformers": transformers.__version__,
            "threads": torch.get_num_threads(), "mkl": torch.backends.mkl.is_available(), "calibration_ms_by_threads": b.calibration,
            "python": sys.version.split()[0]}


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 3:
        raise SystemExit(__doc__)
    store, model_name, inputs_path = args
    with open(inputs_path) as f:
        inputs = json.load(f)
    b = Bench(store, model_name, inputs)
    if "--serve" in sys.argv:
        return serve(b, info(b))
    rows = len(b.ids)
    cases = {
        "greedy_b1": dict(batch=1, beams=1),
        f"greedy_b{rows}": dict(batch=rows, beams=1),
        f"greedy_b{rows}_batch_split": dict(batch=rows, beams=1, adapters=b.adapters[:rows]),
        "beam4_b1": dict(batch=1, beams=4),
        f"beam4_b{rows}": dict(batch=rows, beams=4),
    }
    out = info(b)
    out["cases"] = {}
    for name, kw in cases.items():
        try:
            b.run(reps=1, **kw)  # warm-up
            r = b.run(reps=3, **kw)
            out["cases"][name] = {**kw, "ms": r["ms"], "median_ms": float(np.median(r["ms"]))}
        except Exception as e:  # noqa: BLE001
            out["cases"][name] = {**kw, "error": f"{type(e).__name__}: {e}"}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
