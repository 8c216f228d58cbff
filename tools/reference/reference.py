#!/usr/bin/python3
"""Independent PyTorch reference of what adapter-transformers 3.2.1 computes in eval mode.

Written from reading the library's behaviour (layer.py / modeling.py / lora.py / heads/base.py /
bert + roberta modeling); no library code is copied. Validated against the real AdapterHub
fixtures in test/fixtures/adapterhub by check_shared.py.

Usage as a library:
    store = Store("/path/to/store")
    out = run_case(store, case)   # -> {"expected": ..., "fusion_attentions": ...}

Semantics mirrored from the library, including its quirks:
  * a plain adapter name at the top level is a Stack of one;
  * Parallel / BatchSplit use the FIRST adapter's pre_forward (original_ln_before /
    residual_before_ln) and the LAST adapter's post_forward (original_ln_after) for every branch;
  * Parallel replicates the batch at the first adapter location that has an active adapter;
  * Fuse uses the LAST fused adapter's pre_forward / post_forward; fusion temperature T = 50
    (state of a freshly loaded model, the library lowers it on every call);
  * adapter LayerNorms (ln_before / ln_after) use torch's default eps 1e-5, the transformer
    LayerNorms use config.layer_norm_eps;
  * RoBERTa / XLM-R position ids come from input_ids != pad_token_id (not the attention mask);
  * use_pooler heads read the (unsliced) pooled output.

Also `Average` ({"average": [...], "weights"?: [...]}), which exists only in `adapters` >= 1.0
(methods/adapter_layer_base.py compose_average, methods/bottleneck.py pre_block / mean): see
AdapterLocation.average.
"""
import json
import math
import os
import struct
from collections import OrderedDict

import numpy as np
import torch

torch.set_grad_enabled(False)

# ----------------------------------------------------------------------------------------------
# file IO
# ----------------------------------------------------------------------------------------------

_ST_DTYPES = {
    "F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32,
    "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_,
}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = OrderedDict()
    for k, v in header.items():
        if k == "__metadata__":
            continue
        s, e = v["data_offsets"]
        arr = np.frombuffer(data[base + s: base + e], dtype=_ST_DTYPES[v["dtype"]]).reshape(v["shape"])
        out[k] = torch.from_numpy(arr.copy())
    return out


def write_safetensors(path, tensors):
    """Write a safetensors file (little endian, header padded with spaces to 8 bytes)."""
    names = sorted(tensors.keys())
    header = {"__metadata__": {"format": "pt"}}
    blobs = []
    off = 0
    rev = {np.dtype(v): k for k, v in _ST_DTYPES.items()}
    for k in names:
        a = tensors[k].detach().cpu().contiguous().numpy()
        b = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[k] = {"dtype": rev[a.dtype], "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load_bin(path):
    return torch.load(path, map_location="cpu")


def _load_weights(folder, bin_name, st_name):
    p = os.path.join(folder, bin_name)
    if os.path.exists(p):
        return load_bin(p)
    return read_safetensors(os.path.join(folder, st_name))


def _json(path):
    with open(path) as f:
        return json.load(f)


# ----------------------------------------------------------------------------------------------
# store
# ----------------------------------------------------------------------------------------------

class Store:
    def __init__(self, root):
        self.root = root
        self._models = {}
        self.adapters = {}     # name -> {"config", "weights" (layer-relative keys)}
        self.heads = {}        # name -> {"config", "weights" (index-relative keys)}
        self.fusions = {}      # library name "a,b,c" -> {"config", "weights", "adapters"}
        ad_root = os.path.join(root, "adapters")
        if os.path.isdir(ad_root):
            for name in sorted(os.listdir(ad_root)):
                self._load_adapter_dir(os.path.join(ad_root, name))
        fu_root = os.path.join(root, "fusions")
        if os.path.isdir(fu_root):
            for name in sorted(os.listdir(fu_root)):
                self._load_fusion_dir(os.path.join(fu_root, name))

    # -- model
    def model(self, name):
        if name not in self._models:
            d = os.path.join(self.root, "models", name)
            cfg = _json(os.path.join(d, "config.json"))
            raw = read_safetensors(os.path.join(d, "model.safetensors"))
            w = {}
            for k, v in raw.items():
                for pre in ("bert.", "roberta.", "model."):
                    if k.startswith(pre):
                        k = k[len(pre):]
                        break
                if k.startswith(("embeddings.", "encoder.", "pooler.")):
                    w[k] = v.float()
            self._models[name] = (cfg, w)
        return self._models[name]

    # -- adapters / heads
    def _load_head(self, folder):
        p = os.path.join(folder, "head_config.json")
        if not os.path.exists(p):
            return
        hc = _json(p)
        name = hc["name"]
        sd = _load_weights(folder, "pytorch_model_head.bin", "model_head.safetensors")
        pre = "heads." + name + "."
        w = {}
        for k, v in sd.items():
            if k.startswith(pre):
                rest = k[len(pre):]
                # exact match: rest must be "<idx>.<param>"
                if rest.split(".")[0].isdigit():
                    w[rest] = v.float()
        self.heads[name] = {"config": hc["config"], "weights": w}

    def _load_adapter_dir(self, folder):
        ac = _json(os.path.join(folder, "adapter_config.json"))
        name = ac["name"]
        sd = _load_weights(folder, "pytorch_adapter.bin", "adapter.safetensors")
        w = {}
        for k, v in sd.items():
            i = k.find("encoder.layer.")
            if i >= 0:
                w[k[i + len("encoder.layer."):]] = v.float()
            else:
                w[k] = v.float()
        self.adapters[name] = {"config": ac["config"], "weights": w}
        self._load_head(folder)

    def _load_fusion_dir(self, folder):
        fc = _json(os.path.join(folder, "adapter_fusion_config.json"))
        name = fc["name"]
        sd = _load_weights(folder, "pytorch_model_adapter_fusion.bin", "model_adapter_fusion.safetensors")
        w = {}
        for k, v in sd.items():
            i = k.find("encoder.layer.")
            w[k[i + len("encoder.layer."):]] = v.float()
        fj = os.path.join(folder, "fusion.json")
        adapters = _json(fj)["adapters"] if os.path.exists(fj) else name.split(",")
        self.fusions[name] = {"config": fc["config"], "weights": w, "adapters": adapters}
        self._load_head(folder)


# ----------------------------------------------------------------------------------------------
# composition blocks
# ----------------------------------------------------------------------------------------------

class Block:
    def __init__(self, kind, children, sizes=None, weights=None):
        self.kind = kind
        self.children = children
        self.sizes = sizes
        self.weights = weights

    def first(self):
        c = self.children[0]
        return c.first() if isinstance(c, Block) else c

    def last(self):
        c = self.children[-1]
        return c.last() if isinstance(c, Block) else c

    def flatten(self):
        s = set()
        for c in self.children:
            s |= c.flatten() if isinstance(c, Block) else {c}
        return s

    @property
    def parallel_channels(self):
        if self.kind == "parallel":
            return len(self.children)
        return max([c.parallel_channels if isinstance(c, Block) else 1 for c in self.children])

    @property
    def fuse_name(self):
        return ",".join(c.last() if isinstance(c, Block) else c for c in self.children)


def parse_comp(c, top=True):
    if c is None:
        return None
    if isinstance(c, str):
        return Block("stack", [c]) if top else c
    if "stack" in c:
        return Block("stack", [parse_comp(x, False) for x in c["stack"]])
    if "fuse" in c:
        return Block("fuse", [parse_comp(x, False) for x in c["fuse"]])
    if "parallel" in c:
        return Block("parallel", [parse_comp(x, False) for x in c["parallel"]])
    if "batch_split" in c:
        return Block("batch_split", [parse_comp(x, False) for x in c["batch_split"]], sizes=list(c["sizes"]))
    if "average" in c:
        # adapters >= 1.0 `Average`: explicit weights are divided by their sum (normalize_weights=True),
        # the default is 1/n each.
        n = len(c["average"])
        if c.get("weights") is not None:
            total = sum(c["weights"]) if c["weights"] else 1
            weights = [w / total for w in c["weights"]]
        else:
            weights = [1 / n] * n
        return Block("average", [parse_comp(x, False) for x in c["average"]], weights=weights)
    raise ValueError(c)


def _contains_average(b):
    return isinstance(b, Block) and (b.kind == "average" or any(_contains_average(c) for c in b.children))


# ----------------------------------------------------------------------------------------------
# math helpers
# ----------------------------------------------------------------------------------------------

def act_fn(name):
    n = (name or "linear").lower()
    if n == "relu":
        return torch.relu
    if n == "gelu":
        return lambda x: 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))
    if n in ("gelu_new", "gelu_pytorch_tanh", "gelu_fast"):
        return lambda x: 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))
    if n in ("swish", "silu"):
        return lambda x: x * torch.sigmoid(x)
    if n == "tanh":
        return torch.tanh
    if n == "sigmoid":
        return torch.sigmoid
    if n == "leakyrelu":
        return lambda x: torch.where(x >= 0, x, 0.01 * x)
    if n == "relu6":
        return lambda x: torch.clamp(x, 0, 6)
    if n == "quick_gelu":
        return lambda x: x * torch.sigmoid(1.702 * x)
    if n == "linear":
        return lambda x: x
    raise KeyError(name)


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * w + b


def linear(x, w, b=None):
    y = x @ w.t()
    return y + b if b is not None else y


def rep_to(x, n):
    """Replicate tensor x along batch dim to size n (like adjust_tensors_for_parallel)."""
    if x.shape[0] < n:
        return x.repeat(n // x.shape[0], *([1] * (x.dim() - 1)))
    return x


# ----------------------------------------------------------------------------------------------
# adapters
# ----------------------------------------------------------------------------------------------

def reduction_for(cfg, layer):
    rf = cfg["reduction_factor"]
    if isinstance(rf, dict):
        if str(layer) in rf:
            rf = rf[str(layer)]
        elif "default" in rf:
            rf = rf["default"]
        else:
            raise KeyError("reduction_factor map without default")
    return rf


class BottleneckAdapter:
    def __init__(self, name, cfg, weights, layer, loc_prefix, hidden):
        self.name = name
        self.cfg = cfg
        p = "%d.%s.adapters.%s." % (layer, loc_prefix, name)
        g = lambda k: weights[p + k]
        self.ln_before = None
        if cfg.get("ln_before", False):
            self.ln_before = (g("adapter_down.0.weight"), g("adapter_down.0.bias"))
            self.down = (g("adapter_down.1.weight"), g("adapter_down.1.bias"))
        else:
            self.down = (g("adapter_down.0.weight"), g("adapter_down.0.bias"))
        self.up = (g("adapter_up.weight"), g("adapter_up.bias"))
        bott = max(1, int(hidden // reduction_for(cfg, layer)))
        assert self.down[0].shape[0] == bott, (name, self.down[0].shape, bott)
        self.ln_after = (g("adapter_norm_after.weight"), g("adapter_norm_after.bias")) if cfg.get("ln_after", False) else None
        sc = cfg.get("scaling", 1.0)
        if sc == "learned":
            self.scaling = g("scaling")
        else:
            self.scaling = float(sc)
        if cfg.get("use_gating", False):
            self.gate = (g("gate.weight"), g("gate.bias"))
        else:
            self.gate = None
        self.act = act_fn(cfg["non_linearity"])
        self.is_parallel = cfg.get("is_parallel", False)

    def pre_forward(self, h, x, ln, fusion_cfg=None):
        c = self.cfg
        if self.is_parallel:
            return x, (x if fusion_cfg is not None else None), x
        query = None
        residual = h if c["residual_before_ln"] else None
        if fusion_cfg is not None and fusion_cfg["query_before_ln"]:
            query = h
        if c["original_ln_before"]:
            h = ln(h + x)
        if not c["residual_before_ln"]:
            residual = h
        if fusion_cfg is not None and not fusion_cfg["query_before_ln"]:
            query = h
        return h, query, residual

    def forward(self, z, residual):
        t = z
        if self.ln_before is not None:
            t = layer_norm(t, self.ln_before[0], self.ln_before[1], 1e-5)
        down = self.act(linear(t, *self.down))
        up = linear(down, *self.up) * self.scaling
        out = up
        if self.gate is not None:
            gate = torch.sigmoid(linear(z, *self.gate)).mean(dim=1, keepdim=True)
            out = out * gate
        if self.is_parallel:
            if self.ln_after is not None:
                out = layer_norm(out, self.ln_after[0], self.ln_after[1], 1e-5)
            return out, up
        if self.cfg["adapter_residual_before_ln"]:
            out = out + residual
        if self.ln_after is not None:
            out = layer_norm(out, self.ln_after[0], self.ln_after[1], 1e-5)
        if not self.cfg["adapter_residual_before_ln"]:
            out = out + residual
        return out, up

    def post_forward(self, h, input_h, x, ln):
        if self.is_parallel:
            h = h + input_h
        if self.cfg["original_ln_after"]:
            h = ln(h + x)
        return h


class Fusion:
    def __init__(self, name, cfg, weights, layer, loc_prefix):
        self.cfg = cfg
        p = "%d.%s.adapter_fusion_layer.%s." % (layer, loc_prefix, name)
        self.q = (weights[p + "query.weight"], weights[p + "query.bias"]) if cfg["query"] else None
        self.k = (weights[p + "key.weight"], weights[p + "key.bias"]) if cfg["key"] else None
        self.v = weights[p + "value.weight"] if cfg["value"] else None
        self.T = 50.0 if cfg["temperature"] else 1.0

    def forward(self, query, ups, residual):
        # ups: [B, T, n, H]
        c = self.cfg
        if c["residual_before"]:
            ups = ups + residual[:, :, None, :]  # (in the library key and value are the same tensor)
        ql = linear(query, *self.q) if self.q is not None else query
        kl = linear(ups, *self.k) if self.k is not None else ups
        if self.v is not None and c["value_before_softmax"]:
            vl = linear(ups, self.v)
        else:
            vl = ups
        scores = torch.matmul(ql.unsqueeze(2), kl.transpose(-2, -1)).squeeze(2)  # [B,T,n]
        probs = torch.softmax(scores / self.T, dim=-1)
        ctx = torch.matmul(probs.unsqueeze(2), vl).squeeze(2)
        if self.v is not None and not c["value_before_softmax"]:
            ctx = linear(ctx, self.v)
        if not c["residual_before"]:
            ctx = ctx + residual
        return ctx, probs


LOCATIONS = {"mh_adapter": "attention.output", "output_adapter": "output"}


class AdapterLocation:
    """All bottleneck adapters / fusion layers of one (layer, location) for the active setup."""

    def __init__(self, model, layer, loc):
        self.m = model
        self.layer = layer
        self.loc = loc
        self.adapters = {}
        self.fusions = {}
        store, hidden = model.store, model.hidden
        for name in model.setup_names:
            ad = store.adapters.get(name)
            if ad is None:
                continue
            c = ad["config"]
            if c.get("architecture") not in (None, "bottleneck"):
                continue
            if layer in c.get("leave_out", []) or not c.get(loc, False):
                continue
            self.adapters[name] = BottleneckAdapter(name, c, ad["weights"], layer, LOCATIONS[loc], hidden)
        for fname in model.fuse_names:
            fu = store.fusions[fname]
            names = fname.split(",")
            vals = [store.adapters[n]["config"].get(loc, None) for n in names]
            if all(v == vals[0] for v in vals) and vals[0]:
                self.fusions[fname] = Fusion(fname, fu["config"], fu["weights"], layer, LOCATIONS[loc])

    # ---- composition handlers (mirroring the library's dispatch)
    def stack(self, setup, h, x, ln):
        for i, child in enumerate(setup.children):
            if isinstance(child, Block):
                if child.kind == "fuse":
                    h = self.fuse(child, h, x, ln)
                elif child.kind == "parallel":
                    h, x = self.parallel(child, h, x, ln)
                elif child.kind == "batch_split":
                    h = self.batch_split(child, h, x, ln)
                elif child.kind == "average":
                    h = self.average(child, h, x, ln)
                else:
                    raise ValueError("invalid nesting")
            elif child in self.adapters:
                a = self.adapters[child]
                z, _, r = a.pre_forward(h, x, ln)
                h, up = a.forward(z, r)
                self.last_applied = child
                if i == len(setup.children) - 1:
                    return h, up, x
        return h, None, x

    def fuse(self, setup, h, x, ln):
        fu = self.m.store.fusions[setup.fuse_name]
        last = self.adapters[setup.last()]
        h, query, residual = last.pre_forward(h, x, ln, fusion_cfg=fu["config"])
        ups = []
        for child in setup.children:
            if isinstance(child, Block):
                _, up, _ = self.stack(child, h, x, ln)
                if up is not None:
                    ups.append(up)
            elif child in self.adapters:
                _, up = self.adapters[child].forward(h, residual)
                ups.append(up)
        if ups:
            U = torch.stack(ups, dim=2)
            h, probs = self.fusions[setup.fuse_name].forward(query, U, residual)
            self.m.record_fusion(setup.fuse_name, self.layer, self.loc, probs)
        return h

    def parallel(self, setup, h, x, ln):
        if not self.m.parallelized:
            P = self.m.parallel_channels
            x = x.repeat(P, 1, 1)
            h = h.repeat(P, 1, 1)
            self.m.parallelized = True
        B = h.shape[0] // len(setup.children)
        first = self.adapters[setup.first()]
        h, _, residual = first.pre_forward(h, x, ln)
        outs = []
        for i, child in enumerate(setup.children):
            sl = slice(i * B, (i + 1) * B)
            if isinstance(child, Block):
                if child.kind == "stack":
                    o, _, _ = self.stack(child, h[sl], x[sl], ln)
                elif child.kind == "batch_split":
                    o = self.batch_split(child, h[sl], x[sl], ln)
                else:
                    raise ValueError("invalid nesting")
                outs.append(o)
            elif child in self.adapters:
                o, _ = self.adapters[child].forward(h[sl], residual[sl])
                outs.append(o)
            else:
                outs.append(h[sl])
        return torch.cat(outs, 0), x

    def batch_split(self, setup, h, x, ln):
        assert sum(setup.sizes) == h.shape[0], "batch sizes do not match"
        first = self.adapters[setup.first()]
        h, _, residual = first.pre_forward(h, x, ln)
        outs = []
        for i, child in enumerate(setup.children):
            a, b = sum(setup.sizes[:i]), sum(setup.sizes[:i + 1])
            if isinstance(child, Block):
                if child.kind == "stack":
                    o, _, _ = self.stack(child, h[a:b], x[a:b], ln)
                elif child.kind == "batch_split":
                    o = self.batch_split(child, h[a:b], x[a:b], ln)
                else:
                    raise ValueError("invalid nesting")
                outs.append(o)
            elif child in self.adapters:
                o, _ = self.adapters[child].forward(h[a:b], residual[a:b])
                outs.append(o)
            else:
                raise ValueError("adapter %s missing at layer %d (the library fails here too)" % (child, self.layer))
        return torch.cat(outs, 0)

    def average(self, setup, h, x, ln):
        """adapters >= 1.0 `Average` (bottleneck): the FIRST adapter's pre_forward once for the block
        (KeyError if that adapter is absent at this location, as in the library); every child present
        here runs on that state (a plain adapter without another pre_forward, a Stack applies
        pre_forward per member again); the result is torch.mean(stack(children) * w, 0), i.e. the
        weighted sum divided by the number of children that produced a state (with one of two
        children absent here, broadcasting makes it (w0 + w1) / 2 * h_present). The adapter residual
        kept is the first child's; the post_forward used afterwards is the last child's ("last")."""
        first = self.adapters[setup.first()]
        z, _, residual = first.pre_forward(h, x, ln)
        incoming_last = self.last_applied
        outs, lasts = [], []
        for child in setup.children:
            if isinstance(child, Block):
                self.last_applied = incoming_last
                if child.kind == "stack":
                    o, _, _ = self.stack(child, z, x, ln)
                elif child.kind == "batch_split":
                    o = self.batch_split(child, z, x, ln)
                else:
                    raise ValueError("invalid nesting")
                outs.append(o)
                lasts.append(self.last_applied)
            elif child in self.adapters:
                o, _ = self.adapters[child].forward(z, residual)
                outs.append(o)
                lasts.append(child)
        w = torch.tensor(setup.weights)[:, None, None, None]
        h = torch.mean(torch.stack(outs, 0) * w, dim=0)
        self.last_applied = lasts[-1]
        return h

    def __call__(self, h, x, ln):
        n = max(h.shape[0], x.shape[0])
        h, x = rep_to(h, n), rep_to(x, n)
        setup = self.m.setup
        active = setup is not None and len(set(self.adapters) & setup.flatten()) > 0
        if not active:
            return ln(h + x)
        input_h = h
        self.last_applied = None
        if setup.kind == "stack":
            h, _, x = self.stack(setup, h, x, ln)
        elif setup.kind == "fuse":
            h = self.fuse(setup, h, x, ln)
        elif setup.kind == "parallel":
            h, x = self.parallel(setup, h, x, ln)
            input_h = rep_to(input_h, h.shape[0])
        elif setup.kind == "batch_split":
            h = self.batch_split(setup, h, x, ln)
        elif setup.kind == "average":
            h = self.average(setup, h, x, ln)
        if _contains_average(setup):
            # adapters >= 1.0 post_forward uses the adapter that was applied last (state.last)
            last = self.adapters[self.last_applied]
        else:
            last = self.adapters[setup.last()]
        return last.post_forward(h, input_h, x, ln)


# ----------------------------------------------------------------------------------------------
# LoRA / (IA)^3
# ----------------------------------------------------------------------------------------------

class LoRAModule:
    def __init__(self, cfg, weights, prefix):
        self.cfg = cfg
        self.scaling = cfg["alpha"] / cfg["r"]
        self.mode = cfg.get("composition_mode", "add")
        self.B = weights[prefix + "lora_B"]
        self.A = weights.get(prefix + "lora_A") if self.mode == "add" else None
        if cfg.get("use_gating", False):
            self.gate = (weights[prefix + "gate.weight"], weights[prefix + "gate.bias"])
        else:
            self.gate = None

    def apply(self, x, y):
        if self.mode == "scale":
            delta = self.B.view(1, 1, -1)
        else:
            delta = x @ self.A.t() @ self.B.t()
        sc = self.scaling
        if self.gate is not None:
            sc = torch.sigmoid(linear(x, *self.gate)).mean(dim=1, keepdim=True)
        if self.mode == "scale":
            return y * (delta * sc)
        return y + delta * sc


# ----------------------------------------------------------------------------------------------
# model
# ----------------------------------------------------------------------------------------------

class Model:
    def __init__(self, store, model_name, composition):
        self.store = store
        self.cfg, self.w = store.model(model_name)
        self.hidden = self.cfg["hidden_size"]
        self.setup = parse_comp(composition)
        self.setup_names = self.setup.flatten() if self.setup else set()
        self.fuse_names = set()

        def collect(b):
            if isinstance(b, Block):
                if b.kind == "fuse":
                    self.fuse_names.add(b.fuse_name)
                for c in b.children:
                    collect(c)
        collect(self.setup)
        self.parallel_channels = self.setup.parallel_channels if self.setup else 1
        self.parallelized = False
        self.fusion_attentions = {}
        # LoRA: active only if the setup is exactly one LoRA adapter
        self.lora = None
        lora_names = [n for n in self.setup_names
                      if n in store.adapters and store.adapters[n]["config"].get("architecture") == "lora"]
        if lora_names:
            if len(self.setup.children) != 1 or self.setup.kind != "stack" or isinstance(self.setup.children[0], Block):
                raise ValueError("LoRA only works alone in adapter-transformers 3.2.1")
            self.lora = lora_names[0]

    def record_fusion(self, name, layer, loc, probs):
        self.fusion_attentions.setdefault(name, {}).setdefault(str(layer), {})[loc] = probs

    def lora_linear(self, x, w, b, layer, where, attn_key=None):
        y = linear(x, w, b)
        if self.lora is None:
            return y
        ad = self.store.adapters[self.lora]
        c = ad["config"]
        if layer in c.get("leave_out", []):
            return y
        if where == "selfattn":
            if not c.get("selfattn_lora", True) or attn_key not in c.get("attn_matrices", ["q", "v"]):
                return y
            prefix = "%d.attention.self.%s.loras.%s." % (layer, {"q": "query", "k": "key", "v": "value"}[attn_key], self.lora)
        elif where == "intermediate":
            if not c.get("intermediate_lora", False):
                return y
            prefix = "%d.intermediate.dense.loras.%s." % (layer, self.lora)
        elif where == "output":
            if not c.get("output_lora", False):
                return y
            prefix = "%d.output.dense.loras.%s." % (layer, self.lora)
        return LoRAModule(c, ad["weights"], prefix).apply(x, y)

    def embeddings(self, ids, tt):
        w, cfg = self.w, self.cfg
        mt = cfg["model_type"]
        if mt in ("roberta", "xlm-roberta", "camembert"):
            pad = cfg["pad_token_id"]
            m = (ids != pad).long()
            pos = torch.cumsum(m, dim=1) * m + pad
        else:
            pos = torch.arange(ids.shape[1]).unsqueeze(0).expand_as(ids)
        e = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][pos]
        if "embeddings.token_type_embeddings.weight" in w:
            e = e + w["embeddings.token_type_embeddings.weight"][tt]
        return layer_norm(e, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], cfg["layer_norm_eps"])

    def forward(self, ids, mask, tt):
        cfg, w = self.cfg, self.w
        eps = cfg["layer_norm_eps"]
        H = self.hidden
        nh = cfg["num_attention_heads"]
        dh = H // nh
        act = act_fn(cfg["hidden_act"])
        x = self.embeddings(ids, tt)
        for i in range(cfg["num_hidden_layers"]):
            p = "encoder.layer.%d." % i
            g = lambda k: w[p + k]
            B, T, _ = x.shape
            q = self.lora_linear(x, g("attention.self.query.weight"), g("attention.self.query.bias"), i, "selfattn", "q")
            k = self.lora_linear(x, g("attention.self.key.weight"), g("attention.self.key.bias"), i, "selfattn", "k")
            v = self.lora_linear(x, g("attention.self.value.weight"), g("attention.self.value.bias"), i, "selfattn", "v")
            sp = lambda t: t.view(B, T, nh, dh).transpose(1, 2)
            q, k, v = sp(q), sp(k), sp(v)
            m = rep_to(mask, B)
            ext = (1.0 - m[:, None, None, :].float()) * torch.finfo(torch.float32).min
            sc = q @ k.transpose(-1, -2) / math.sqrt(dh) + ext
            pr = torch.softmax(sc, dim=-1)
            ctx = (pr @ v).transpose(1, 2).reshape(B, T, H)
            ao = linear(ctx, g("attention.output.dense.weight"), g("attention.output.dense.bias"))
            ln1 = lambda t, g=g: layer_norm(t, g("attention.output.LayerNorm.weight"), g("attention.output.LayerNorm.bias"), eps)
            attn_out = AdapterLocation(self, i, "mh_adapter")(ao, x, ln1)
            inter = act(self.lora_linear(attn_out, g("intermediate.dense.weight"), g("intermediate.dense.bias"), i, "intermediate"))
            od = self.lora_linear(inter, g("output.dense.weight"), g("output.dense.bias"), i, "output")
            ln2 = lambda t, g=g: layer_norm(t, g("output.LayerNorm.weight"), g("output.LayerNorm.bias"), eps)
            x = AdapterLocation(self, i, "output_adapter")(od, rep_to(attn_out, od.shape[0]), ln2)
        pooled = None
        if "pooler.dense.weight" in w:
            pooled = torch.tanh(linear(x[:, 0], w["pooler.dense.weight"], w["pooler.dense.bias"]))
        return x, pooled


# ----------------------------------------------------------------------------------------------
# heads
# ----------------------------------------------------------------------------------------------

def run_head(store, name, seq, pooled):
    hd = store.heads[name]
    c, w = hd["config"], hd["weights"]
    ht = c["head_type"]
    if ht in ("classification", "multilabel_classification", "multiple_choice"):
        if c.get("use_pooler", False):
            x = pooled
        else:
            x = seq[:, 0]
    else:
        x = seq
    idx = 0
    layers = c["layers"]
    actname = c.get("activation_function")
    for l in range(layers):
        idx += 1  # dropout
        x = linear(x, w["%d.weight" % idx], w.get("%d.bias" % idx))
        idx += 1
        if l < layers - 1 and actname:
            x = act_fn(actname)(x)
            idx += 1
    if ht == "question_answering":
        return {"start_logits": x[..., 0], "end_logits": x[..., 1]}
    return {"logits": x}


# ----------------------------------------------------------------------------------------------
# cases
# ----------------------------------------------------------------------------------------------

def _tolist(o):
    if isinstance(o, torch.Tensor):
        return o.tolist()
    if isinstance(o, dict):
        return {k: _tolist(v) for k, v in o.items()}
    if isinstance(o, list):
        return [_tolist(v) for v in o]
    return o


def run_case(store, case):
    tok = case["tokenized"]
    ids = torch.tensor(tok["input_ids"], dtype=torch.long)
    mask = torch.tensor(tok["attention_mask"], dtype=torch.long)
    tt = torch.tensor(tok.get("token_type_ids") or [[0] * ids.shape[1]] * ids.shape[0], dtype=torch.long)
    model = Model(store, case["model"], case["composition"])
    seq, pooled = model.forward(ids, mask, tt)
    head = case["head"]
    fa = model.fusion_attentions
    if head is None:
        exp = {"last_hidden_state": seq}
        if fa:
            exp["fusion_attentions"] = fa
        return _tolist(exp)
    if isinstance(head, str):
        exp = run_head(store, head, seq, pooled)
        if fa:
            exp["fusion_attentions"] = fa
        return _tolist(exp)
    if isinstance(head, list):  # parallel
        P = len(head)
        B = seq.shape[0] // P
        outs = []
        for i, h in enumerate(head):
            outs.append(run_head(store, h, seq[i * B:(i + 1) * B], pooled))
        return _tolist(outs)
    if isinstance(head, dict) and "batch_split" in head:
        outs = []
        sizes = head["sizes"]
        for i, h in enumerate(head["batch_split"]):
            a, b = sum(sizes[:i]), sum(sizes[:i + 1])
            outs.append(run_head(store, h, seq[a:b], pooled))
        return _tolist(outs)
    raise ValueError(head)
