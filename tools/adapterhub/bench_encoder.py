"""The PyTorch side of polyhead's encoder benchmark (bench/run.ts): AdapterHub's BertAdapterModel forward().

Loads BertAdapterModel from a store written by test/support/random-store.ts (models/<model>/config.json +
model.safetensors, read by hand as in bench_generate.py), loads every adapter of the store with its head
(model.load_adapter: 3.2.1 reads pytorch_adapter.bin / pytorch_model_head.bin, so each folder's safetensors
files are re-saved as those in a temporary copy) and the fusion with its head (model.load_adapter_fusion, from
pytorch_model_adapter_fusion.bin likewise), then times forward() under torch.no_grad().

    /tmp/ah/python tools/adapterhub/bench_encoder.py STORE MODEL INPUTS.json            # every case once, one JSON
    /tmp/ah/python tools/adapterhub/bench_encoder.py STORE MODEL INPUTS.json --serve    # JSON lines on stdin/stdout

INPUTS.json: {"input_ids": [[...], ...],            the rows of the fixed-shape cases, all the same length
              "realistic": [{"input_ids": [...], "adapter": "a3"}, ...]}    one-row requests, in arrival order
(the token ids polyhead's tokenizer gave, [CLS] ... [SEP], no padding).

--serve prints {"ready": ...} once loaded, then for each request line {"case": CASE, "reps": 1} answers
{"ms": [...], "logits": [[...], ...]} or {"error": "..."}, CASE one of
  "one"        adapter a0 with its head, all rows
  "split"      BatchSplit(a0, ..., a{n-1}), one row each, each adapter's own head (BatchSplit of heads)
  "fuse"       Fuse(a0, ..., a{k-1}) (the store's fusion) with the fusion's head
  "realistic"  the realistic requests as AdapterHub would serve them: in arrival order, 8 at a time, each batch
               padded to its longest row (attention mask), BatchSplit over the rows' adapters and heads
The ms of "realistic" is the whole workload. Needs adapter-transformers 3.2.1 (see README.md here).

THREADS: as in bench_generate.py (a torch without MKL runs its matmuls on OpenBLAS's own threads, and more
torch threads can oversubscribe the cores), the script times "one" with 1 and with all cores' intra-op threads
and keeps the faster; POLYHEAD_REFERENCE_THREADS=N forces N. Both timings are reported.
"""

import json
import os
import shutil
import sys
import tempfile
import time

import numpy as np
import torch
import transformers
from transformers import BertConfig
from transformers.adapters import BertAdapterModel
from transformers.adapters.composition import BatchSplit, Fuse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_generate import no_init_weights, read_safetensors, serve  # noqa: E402

REALISTIC_BATCH = 8


def copy_config(path, dst):
    """Copies an adapter_config.json, with scaling 1 made 1.0: JSON written by JavaScript has no float 1.0, and
    3.2.1 takes only a float (or "learned" / "channel") for scaling."""
    with open(path) as f:
        config = json.load(f)
    if isinstance(config.get("config", {}).get("scaling"), int):
        config["config"]["scaling"] = float(config["config"]["scaling"])
    with open(os.path.join(dst, os.path.basename(path)), "w") as f:
        json.dump(config, f)


def load(store, model_name):
    folder = os.path.join(store, "models", model_name)
    config = BertConfig.from_json_file(os.path.join(folder, "config.json"))
    with no_init_weights():
        model = BertAdapterModel(config)
    state = {f"bert.{k}": v for k, v in read_safetensors(os.path.join(folder, "model.safetensors")).items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith("heads.") and "position_ids" not in k]
    if missing or unexpected:
        raise SystemExit(f"state dict mismatch: missing {missing[:5]}, unexpected {unexpected[:5]}")
    model.eval()
    adapters, fusions = [], []
    tmp = tempfile.mkdtemp(prefix="polyhead-bench-ah-")
    try:
        root = os.path.join(store, "adapters")
        for name in sorted(os.listdir(root), key=lambda n: (len(n), n)):
            src, dst = os.path.join(root, name), os.path.join(tmp, "adapters", name)
            os.makedirs(dst)
            copy_config(os.path.join(src, "adapter_config.json"), dst)
            torch.save(read_safetensors(os.path.join(src, "adapter.safetensors")), os.path.join(dst, "pytorch_adapter.bin"))
            if os.path.exists(os.path.join(src, "head_config.json")):
                shutil.copy(os.path.join(src, "head_config.json"), dst)
                torch.save(read_safetensors(os.path.join(src, "model_head.safetensors")), os.path.join(dst, "pytorch_model_head.bin"))
            adapters.append(model.load_adapter(dst))
        root = os.path.join(store, "fusions")
        for name in sorted(os.listdir(root)) if os.path.isdir(root) else []:
            src, dst = os.path.join(root, name), os.path.join(tmp, "fusions", name)
            os.makedirs(dst)
            shutil.copy(os.path.join(src, "adapter_fusion_config.json"), dst)
            torch.save(read_safetensors(os.path.join(src, "model_adapter_fusion.safetensors")), os.path.join(dst, "pytorch_model_adapter_fusion.bin"))
            if os.path.exists(os.path.join(src, "head_config.json")):
                shutil.copy(os.path.join(src, "head_config.json"), dst)
                torch.save(read_safetensors(os.path.join(src, "model_head.safetensors")), os.path.join(dst, "pytorch_model_head.bin"))
            with open(os.path.join(src, "fusion.json")) as f:
                members = json.load(f)["adapters"]
            model.load_adapter_fusion(dst, set_active=False)
            fusions.append(members)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    model.eval()
    return model, adapters, fusions


class Bench:
    def __init__(self, store, model_name, inputs):
        cores = os.cpu_count() or 1
        torch.set_num_threads(cores)
        t = time.perf_counter()
        self.model, self.adapters, self.fusions = load(store, model_name)
        self.load_s = time.perf_counter() - t
        self.ids = torch.tensor(inputs["input_ids"], dtype=torch.long)
        self.realistic = inputs.get("realistic", [])
        self.calibration = {}
        forced = os.environ.get("POLYHEAD_REFERENCE_THREADS")
        if forced:
            self.threads = int(forced)
        else:
            for n in sorted({1, cores}):
                torch.set_num_threads(n)
                self.run("one")  # warm-up
                self.calibration[n] = min(self.run("one", reps=2)["ms"])
            self.threads = min(self.calibration, key=self.calibration.get)
        torch.set_num_threads(self.threads)

    def _forward(self, ids, mask, adapters, head):
        self.model.set_active_adapters(adapters)
        self.model.active_head = head
        out = self.model(input_ids=ids, attention_mask=mask)
        logits = out[0] if isinstance(out, (tuple, list)) else out.logits
        return logits

    def _case(self, case):
        if case == "one":
            return lambda: [self._forward(self.ids, torch.ones_like(self.ids), "a0", "a0")]
        if case == "split":
            n = len(self.ids)
            names = self.adapters[:n]
            if len(names) != n:
                raise ValueError(f"BatchSplit of {n} rows needs {n} adapters, the store has {len(self.adapters)}")
            setup = BatchSplit(*names, batch_sizes=[1] * n)
            return lambda: [self._forward(self.ids, torch.ones_like(self.ids), setup, BatchSplit(*names, batch_sizes=[1] * n))]
        if case == "fuse":
            if not self.fusions:
                raise ValueError("the store has no fusion")
            members = self.fusions[0]
            return lambda: [self._forward(self.ids, torch.ones_like(self.ids), Fuse(*members), ",".join(members))]
        if case == "realistic":
            batches = []
            for s in range(0, len(self.realistic), REALISTIC_BATCH):
                reqs = self.realistic[s:s + REALISTIC_BATCH]
                width = max(len(r["input_ids"]) for r in reqs)
                ids = torch.zeros((len(reqs), width), dtype=torch.long)
                mask = torch.zeros((len(reqs), width), dtype=torch.long)
                for i, r in enumerate(reqs):
                    ids[i, :len(r["input_ids"])] = torch.tensor(r["input_ids"])
                    mask[i, :len(r["input_ids"])] = 1
                names = [r["adapter"] for r in reqs]
                batches.append((ids, mask, names))

            def work():
                outs = []
                for ids, mask, names in batches:
                    # one BatchSplit block per batch (built per batch, as a server would)
                    setup = BatchSplit(*names, batch_sizes=[1] * len(names))
                    outs.append(self._forward(ids, mask, setup, BatchSplit(*names, batch_sizes=[1] * len(names))))
                return outs
            return work
        raise ValueError(f"unknown case {case!r}")

    def run(self, case, reps=1):
        f = self._case(case)
        times = []
        outs = None
        with torch.no_grad():
            for _ in range(reps):
                t = time.perf_counter()
                outs = f()
                times.append((time.perf_counter() - t) * 1000)
        logits = [row for o in outs for row in torch.as_tensor(o).reshape(o.shape[0], -1).tolist()]
        return {"ms": times, "logits": logits}


def info(b):
    return {"ready": True, "load_s": b.load_s, "adapters": b.adapters, "fusions": b.fusions, "torch": torch.__version__,
            "transformers": transformers.__version__, "threads": torch.get_num_threads(), "mkl": torch.backends.mkl.is_available(),
            "calibration_ms_by_threads": b.calibration, "python": sys.version.split()[0]}


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
    out = info(b)
    out["cases"] = {}
    for case in ("one", "split", "fuse", "realistic"):
        try:
            b.run(case)  # warm-up
            r = b.run(case, reps=3)
            out["cases"][case] = {"ms": r["ms"], "median_ms": float(np.median(r["ms"]))}
        except Exception as e:  # noqa: BLE001
            out["cases"][case] = {"error": f"{type(e).__name__}: {e}"}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
