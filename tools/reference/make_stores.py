#!/usr/bin/python3
"""Generate extra golden stores in AdapterHub 3.2.1's on-disk format, with outputs from reference.py.

    /usr/bin/python3 tools/reference/make_stores.py [--shared test/fixtures/adapterhub] [--out test/fixtures]

Writes test/fixtures/{bert-variants,roberta-tiny,xlmr-tiny}/. Deterministic (fixed seeds).
Tokenization goes through tools/reference/tokenize.mjs (npm @huggingface/tokenizers).
"""
import argparse
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import zlib
from collections import OrderedDict

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import reference as R  # noqa: E402

VERSION = "3.2.1"

# ----------------------------------------------------------------------------------------------
# config templates (key sets exactly as adapter-transformers 3.2.1 saves them)
# ----------------------------------------------------------------------------------------------

BOTTLENECK_BASE = {
    "adapter_residual_before_ln": False, "cross_adapter": False, "factorized_phm_W": True,
    "factorized_phm_rule": False, "hypercomplex_nonlinearity": "glorot-uniform", "init_weights": "bert",
    "inv_adapter": None, "inv_adapter_reduction_factor": None, "is_parallel": False, "learn_phm": True,
    "leave_out": [], "ln_after": False, "ln_before": False, "mh_adapter": False, "non_linearity": "relu",
    "original_ln_after": True, "original_ln_before": True, "output_adapter": True, "phm_bias": True,
    "phm_c_init": "normal", "phm_dim": 4, "phm_init_range": 0.0001, "phm_layer": False, "phm_rank": 1,
    "reduction_factor": 16, "residual_before_ln": True, "scaling": 1.0, "shared_W_phm": False,
    "shared_phm_rule": True, "use_gating": False,
}


def pfeiffer(**kw):
    c = dict(BOTTLENECK_BASE)
    c.update(kw)
    return c


def houlsby(**kw):
    c = dict(BOTTLENECK_BASE, mh_adapter=True, original_ln_before=False, non_linearity="swish")
    c.update(kw)
    return c


def lora(**kw):
    c = {"alpha": 8, "architecture": "lora", "attn_matrices": ["q", "v"], "composition_mode": "add",
         "dropout": 0.0, "init_weights": "lora", "intermediate_lora": False, "output_lora": False, "r": 8,
         "selfattn_lora": True, "use_gating": False}
    c.update(kw)
    return c


def ia3(**kw):
    c = {"alpha": 1, "architecture": "lora", "attn_matrices": ["k", "v"], "composition_mode": "scale",
         "dropout": 0.0, "init_weights": "ia3", "intermediate_lora": True, "output_lora": False, "r": 1,
         "selfattn_lora": True, "use_gating": False}
    c.update(kw)
    return c


STATIC_FUSION = {"key": True, "query": True, "query_before_ln": False, "regularization": False,
                 "residual_before": False, "temperature": False, "value": False, "value_before_softmax": True,
                 "value_initialized": False}
DYNAMIC_FUSION = {"key": True, "query": True, "query_before_ln": False, "regularization": True,
                  "residual_before": False, "temperature": False, "value": True, "value_before_softmax": True,
                  "value_initialized": True}


def head_cfg(head_type, label2id, layers=2, activation="tanh", use_pooler=False):
    c = {"activation_function": activation, "head_type": head_type, "label2id": label2id, "layers": layers,
         "num_labels": len(label2id)}
    if head_type in ("classification", "multilabel_classification"):
        c["bias"] = True
        c["use_pooler"] = use_pooler
    return c


def labels(*names):
    return {n: i for i, n in enumerate(names)}


# ----------------------------------------------------------------------------------------------
# random weights
# ----------------------------------------------------------------------------------------------

def gen_for(seed, name):
    g = torch.Generator()
    g.manual_seed(seed * 100003 + zlib.crc32(name.encode()) % 1000003)
    return g


def rnd(g, *shape, std=0.25, mean=0.0):
    return (torch.randn(*shape, generator=g) * std + mean).float().contiguous()


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)


def save_pair(folder, bin_name, st_name, sd):
    torch.save(sd, os.path.join(folder, bin_name))
    R.write_safetensors(os.path.join(folder, st_name), OrderedDict((k, v.clone()) for k, v in sd.items()))


class StoreWriter:
    def __init__(self, root, seed, prefix, model_type, model_class, cfg):
        self.root = root
        self.seed = seed
        self.prefix = prefix            # "bert" / "roberta"
        self.model_type = model_type
        self.model_class = model_class
        self.H = cfg["hidden_size"]
        self.I = cfg["intermediate_size"]
        self.L = cfg["num_hidden_layers"]
        self.adapter_cfgs = {}
        os.makedirs(os.path.join(root, "adapters"), exist_ok=True)

    def meta(self, name, config):
        return {"config": config, "hidden_size": self.H, "model_class": self.model_class, "model_name": None,
                "model_type": self.model_type, "name": name, "version": VERSION}

    # -- heads
    def head_weights(self, name, hc, g):
        sd = OrderedDict()
        idx = 0
        for l in range(hc["layers"]):
            idx += 1
            out = hc["num_labels"] if l == hc["layers"] - 1 else self.H
            sd["heads.%s.%d.weight" % (name, idx)] = rnd(g, out, self.H, std=0.3)
            sd["heads.%s.%d.bias" % (name, idx)] = rnd(g, out, std=0.1)
            idx += 1
            if l < hc["layers"] - 1 and hc["activation_function"]:
                idx += 1
        return sd

    def write_head(self, folder, name, hc, extra=None):
        g = gen_for(self.seed, "head:" + name)
        sd = self.head_weights(name, hc, g)
        if extra:
            sd.update(extra)
        write_json(os.path.join(folder, "head_config.json"), self.meta(name, hc))
        save_pair(folder, "pytorch_model_head.bin", "model_head.safetensors", sd)
        return sd

    # -- adapters
    def adapter(self, name, config, head=None, extra_head_sd=None):
        folder = os.path.join(self.root, "adapters", name)
        os.makedirs(folder, exist_ok=True)
        g = gen_for(self.seed, "adapter:" + name)
        sd = OrderedDict()
        P = self.prefix + ".encoder.layer.%d."
        if config.get("architecture") == "lora":
            for i in range(self.L):
                if i in config.get("leave_out", []):
                    continue
                targets = []
                if config["selfattn_lora"]:
                    for m, mod in (("q", "query"), ("k", "key"), ("v", "value")):
                        if m in config["attn_matrices"]:
                            targets.append(("attention.self." + mod, self.H, self.H))
                if config["intermediate_lora"]:
                    targets.append(("intermediate.dense", self.H, self.I))
                if config["output_lora"]:
                    targets.append(("output.dense", self.I, self.H))
                for mod, fin, fout in targets:
                    p = (P % i) + mod + ".loras." + name + "."
                    if config["composition_mode"] == "add":
                        sd[p + "lora_A"] = rnd(g, config["r"], fin, std=0.3)
                        sd[p + "lora_B"] = rnd(g, fout, config["r"], std=0.3)
                    else:
                        sd[p + "lora_B"] = rnd(g, fout, 1, std=0.3, mean=1.0)
        else:
            for i in range(self.L):
                if i in config["leave_out"]:
                    continue
                rf = R.reduction_for(config, i)
                bott = max(1, int(self.H // rf))
                for loc, mod in (("mh_adapter", "attention.output"), ("output_adapter", "output")):
                    if not config[loc]:
                        continue
                    p = (P % i) + mod + ".adapters." + name + "."
                    if config["scaling"] == "learned":
                        sd[p + "scaling"] = torch.tensor([1.0 + 0.5 * float(torch.rand(1, generator=g))])
                    if config["ln_before"]:
                        lw, lb = rnd(g, self.H, std=0.1, mean=1.0), rnd(g, self.H, std=0.1)
                        sd[p + "adapter_norm_before.weight"] = lw
                        sd[p + "adapter_norm_before.bias"] = lb
                        sd[p + "adapter_down.0.weight"] = lw   # same tensor, as nn.Sequential shares it
                        sd[p + "adapter_down.0.bias"] = lb
                        di = 1
                    else:
                        di = 0
                    sd[p + "adapter_down.%d.weight" % di] = rnd(g, bott, self.H, std=0.3)
                    sd[p + "adapter_down.%d.bias" % di] = rnd(g, bott, std=0.2)
                    sd[p + "adapter_up.weight"] = rnd(g, self.H, bott, std=0.3)
                    sd[p + "adapter_up.bias"] = rnd(g, self.H, std=0.2)
                    if config["ln_after"]:
                        sd[p + "adapter_norm_after.weight"] = rnd(g, self.H, std=0.1, mean=1.0)
                        sd[p + "adapter_norm_after.bias"] = rnd(g, self.H, std=0.1)
        write_json(os.path.join(folder, "adapter_config.json"), self.meta(name, config))
        save_pair(folder, "pytorch_adapter.bin", "adapter.safetensors", sd)
        if head is not None:
            self.write_head(folder, name, head, extra_head_sd)
        self.adapter_cfgs[name] = config

    def fusion(self, dirname, adapters, config, head=None, qk_std=0.3):
        name = ",".join(adapters)
        folder = os.path.join(self.root, "fusions", dirname)
        os.makedirs(folder, exist_ok=True)
        g = gen_for(self.seed, "fusion:" + name)
        sd = OrderedDict()
        for i in range(self.L):
            for loc, mod in (("mh_adapter", "attention.output"), ("output_adapter", "output")):
                vals = [self.adapter_cfgs[a][loc] for a in adapters]
                if not (all(v == vals[0] for v in vals) and vals[0]):
                    continue
                p = "%s.encoder.layer.%d.%s.adapter_fusion_layer.%s." % (self.prefix, i, mod, name)
                if not config["query"] and not config["key"] and not config["value"]:
                    sd[p + "dense.weight"] = rnd(g, 1, self.H, std=0.1)
                    sd[p + "dense.bias"] = rnd(g, 1, std=0.1)
                if config["query"]:
                    sd[p + "query.weight"] = rnd(g, self.H, self.H, std=qk_std)
                    sd[p + "query.bias"] = rnd(g, self.H, std=0.1)
                if config["key"]:
                    sd[p + "key.weight"] = rnd(g, self.H, self.H, std=qk_std)
                    sd[p + "key.bias"] = rnd(g, self.H, std=0.1)
                if config["value"]:
                    sd[p + "value.weight"] = (torch.eye(self.H) + rnd(g, self.H, self.H, std=0.15)).contiguous()
        write_json(os.path.join(folder, "adapter_fusion_config.json"), self.meta(name, config))
        save_pair(folder, "pytorch_model_adapter_fusion.bin", "model_adapter_fusion.safetensors", sd)
        with open(os.path.join(folder, "fusion.json"), "w") as f:
            f.write(json.dumps({"adapters": adapters}))
        hsd = None
        if head is not None:
            hsd = self.write_head(folder, name, head)
        return hsd


# ----------------------------------------------------------------------------------------------
# tokenization + cases
# ----------------------------------------------------------------------------------------------

def tokenize(tok_dir, inputs, max_length, pad_id, zero_type_ids=False):
    r = subprocess.run(["node", os.path.join(HERE, "tokenize.mjs")], cwd=REPO, capture_output=True, text=True,
                       input=json.dumps({"tokenizer_dir": tok_dir, "inputs": inputs}))
    if r.returncode:
        raise RuntimeError(r.stderr)
    encs = json.loads(r.stdout)
    rows = []
    for inp, e in zip(inputs, encs):
        ids, tt = e["input_ids"], e["token_type_ids"] or [0] * len(e["input_ids"])
        if len(ids) > max_length:
            if isinstance(inp, list):
                raise ValueError("pair truncation is not generated here: %r" % (inp,))
            ids = ids[:max_length - 1] + ids[-1:]   # keep the closing special token
            tt = tt[:max_length]
        if zero_type_ids:
            tt = [0] * len(ids)
        rows.append((ids, tt))
    T = max(len(i) for i, _ in rows)
    return {
        "input_ids": [i + [pad_id] * (T - len(i)) for i, _ in rows],
        "token_type_ids": [t + [0] * (T - len(t)) for _, t in rows],
        "attention_mask": [[1] * len(i) + [0] * (T - len(i)) for i, _ in rows],
    }


def rounded(o):
    if isinstance(o, float):
        return round(o, 7)
    if isinstance(o, list):
        return [rounded(x) for x in o]
    if isinstance(o, dict):
        return {k: rounded(v) for k, v in o.items()}
    return o


def build_cases(root, model, specs, pad_id, zero_type_ids=False):
    store = R.Store(root)
    tok_dir = os.path.join(root, "models", model)
    cases = []
    for s in specs:
        case = {"id": s["id"], "model": model, "inputs": s["inputs"], "max_length": s.get("max_length", 48)}
        case["tokenized"] = tokenize(tok_dir, s["inputs"], case["max_length"], pad_id, zero_type_ids)
        case["composition"] = s["composition"]
        case["head"] = s["head"]
        case["expected"] = rounded(R.run_case(store, case))
        case["atol"] = 1e-4
        cases.append(case)
    with open(os.path.join(root, "cases.json"), "w") as f:
        f.write(json.dumps(cases))
    return store, cases


# ----------------------------------------------------------------------------------------------
# sanity checks on generated cases
# ----------------------------------------------------------------------------------------------

def _arr(x):
    return torch.tensor(x, dtype=torch.float64)


def check_branches_independent(store, case):
    """Parallel / BatchSplit outputs must equal running each branch alone (what polyhead does)."""
    comp = case["composition"]
    tok = case["tokenized"]
    if "parallel" in comp:
        for br, exp in zip(comp["parallel"], case["expected"]):
            head = br if isinstance(br, str) else None
            alone = R.run_case(store, dict(case, composition=br, head=head))
            d = max(float((_arr(alone[k]) - _arr(v)).abs().max()) for k, v in exp.items())
            assert d < 1e-5, ("parallel branch differs from running alone", case["id"], br, d)
    else:
        sizes = comp["sizes"]
        for i, (br, exp) in enumerate(zip(comp["batch_split"], case["expected"])):
            a, b = sum(sizes[:i]), sum(sizes[:i + 1])
            sub = {k: v[a:b] for k, v in tok.items()}
            T = max(sum(m) for m in sub["attention_mask"])
            sub = {k: [r[:T] for r in v] for k, v in sub.items()}
            alone = R.run_case(store, dict(case, composition=br, head=br, tokenized=sub))
            for k, v in exp.items():
                ev = _arr(v)
                av = _arr(alone[k])
                if ev.dim() >= 2 and ev.shape[1] != av.shape[1]:
                    ev = ev[:, :T]
                d = float((av - ev).abs().max())
                assert d < 1e-5, ("batch_split branch differs from running alone", case["id"], br, d)


def _average_children(comp):
    if isinstance(comp, dict):
        if "average" in comp:
            return [c for c in comp["average"] if isinstance(c, str)]
        for v in comp.values():
            if isinstance(v, list):
                for c in v:
                    r = _average_children(c)
                    if r:
                        return r
    return []


def check_average_differs(store, case, min_diff=1e-2):
    """An Average case must differ clearly from the same head on each child adapter alone
    (with the other stack members kept, for an Average inside a Stack)."""
    children = _average_children(case["composition"])
    if not children:
        return None
    comp = case["composition"]
    worst = None
    for ch in children:
        if "stack" in comp:
            alone_comp = {"stack": [ch if isinstance(c, dict) and "average" in c else c for c in comp["stack"]]}
        else:
            alone_comp = ch
        alone = R.run_case(store, dict(case, composition=alone_comp))
        k = "logits" if "logits" in alone else "start_logits"
        d = float((_arr(alone[k]) - _arr(case["expected"][k])).abs().max())
        assert d > min_diff, ("average equals a child alone", case["id"], ch, d)
        worst = d if worst is None else min(worst, d)
    return worst


def check_visible(store, case, min_diff=1e-2):
    """An adapter case must differ clearly from the same head on the bare model."""
    if case["composition"] is None or not isinstance(case["head"], str):
        return None
    if case["head"] not in store.heads:
        return None
    bare = R.run_case(store, dict(case, composition=None))
    k = "logits" if "logits" in bare else "start_logits"
    d = float((_arr(bare[k]) - _arr(case["expected"][k])).abs().max())
    assert d > min_diff, ("adapter has no visible effect", case["id"], d)
    return d


# ----------------------------------------------------------------------------------------------
# bert-variants
# ----------------------------------------------------------------------------------------------

TEXTS = [
    "The movie was great!",
    "I really did not like the acting, it was boring and too long.",
    "Paris is a beautiful city in France.",
    "What does the adapter fusion model do?",
    "Stocks fell quickly today after the bank report.",
    "Unbelievably, the café served cheapest food!!",
    "John played music in London yesterday 适配器",
    "WEATHER: cold rain and wind in Berlin, snow in Tokyo.",
]
PAIRS = [
    ["The movie was great.", "I enjoyed the film."],
    ["Mary went to Paris.", "Mary is in Germany."],
    ["Who wrote the book?", "The book was written by Anna in 2020."],
]


def make_bert_variants(shared, out, seed=1234):
    root = os.path.join(out, "bert-variants")
    if os.path.exists(root):
        shutil.rmtree(root)
    mdir = os.path.join(root, "models", "bert-tiny")
    os.makedirs(mdir)
    src = os.path.join(shared, "models", "bert-tiny")
    for f in os.listdir(src):
        if f != "model.safetensors":
            shutil.copy(os.path.join(src, f), os.path.join(mdir, f))
            os.chmod(os.path.join(mdir, f), 0o644)
    cfg = json.load(open(os.path.join(src, "config.json")))
    base = R.read_safetensors(os.path.join(src, "model.safetensors"))
    H, V = cfg["hidden_size"], cfg["vocab_size"]
    g = gen_for(seed, "bert-pretraining-heads")
    sd = OrderedDict(("bert." + k, v) for k, v in base.items())
    sd["cls.predictions.bias"] = rnd(g, V, std=0.1)
    sd["cls.predictions.transform.dense.weight"] = rnd(g, H, H, std=0.1)
    sd["cls.predictions.transform.dense.bias"] = rnd(g, H, std=0.1)
    sd["cls.predictions.transform.LayerNorm.weight"] = rnd(g, H, std=0.1, mean=1.0)
    sd["cls.predictions.transform.LayerNorm.bias"] = rnd(g, H, std=0.1)
    sd["cls.predictions.decoder.weight"] = base["embeddings.word_embeddings.weight"].clone()
    sd["cls.predictions.decoder.bias"] = sd["cls.predictions.bias"].clone()
    sd["cls.seq_relationship.weight"] = rnd(g, 2, H, std=0.1)
    sd["cls.seq_relationship.bias"] = rnd(g, 2, std=0.1)
    R.write_safetensors(os.path.join(mdir, "model.safetensors"), sd)
    cfg = dict(cfg, architectures=["BertForPreTraining"])
    write_json(os.path.join(mdir, "config.json"), cfg)

    w = StoreWriter(root, seed, "bert", "bert", "BertAdapterModel", cfg)
    sentiment = labels("negative", "positive")
    # bottleneck variants
    w.adapter("houlsby_ln", houlsby(ln_before=True, ln_after=True, adapter_residual_before_ln=True,
                                    non_linearity="gelu", reduction_factor=8),
              head=head_cfg("classification", labels("entailment", "neutral", "contradiction"), layers=1))
    w.adapter("hq", houlsby(reduction_factor=8),
              head=head_cfg("question_answering", labels("LABEL_0", "LABEL_1"), layers=1))
    w.adapter("bapna", pfeiffer(ln_before=True, original_ln_before=True, original_ln_after=False,
                                residual_before_ln=False, reduction_factor=4),
              head=head_cfg("classification", sentiment, layers=3, activation="relu", use_pooler=True))
    w.adapter("leave0", pfeiffer(leave_out=[0], reduction_factor=8, non_linearity="tanh"),
              head=head_cfg("tagging", labels("O", "B-PER", "I-PER", "B-LOC", "I-LOC"), layers=2))
    w.adapter("rf_map", pfeiffer(reduction_factor={"0": 4, "1": 8, "default": 16}, non_linearity="swish",
                                 ln_after=True),
              head=head_cfg("multilabel_classification", labels("insult", "threat", "obscene", "spam")))
    w.adapter("learned", pfeiffer(scaling="learned", non_linearity="gelu_new", reduction_factor=4),
              head=head_cfg("classification", labels("LABEL_0")))
    w.adapter("lang_de", pfeiffer(reduction_factor=2, non_linearity="leakyrelu"))
    # LoRA / IA3
    w.adapter("lora_full", lora(r=4, alpha=16, attn_matrices=["q", "k", "v"], intermediate_lora=True,
                                output_lora=True),
              head=head_cfg("classification", sentiment, activation="gelu"))
    w.adapter("ia3_out", ia3(output_lora=True),
              head=head_cfg("classification", labels("world", "sports", "business"), layers=1))
    # fusion members
    static_head = head_cfg("classification", labels("joy", "anger", "fear"))
    w.adapter("genre", pfeiffer(non_linearity="gelu", reduction_factor=8, scaling=0.5),
              head=head_cfg("classification", labels("news", "review", "question", "chat")))
    w.adapter("domain", pfeiffer(non_linearity="tanh", reduction_factor=4),
              head=head_cfg("classification", labels("web", "legal", "medical")))
    # "emo" last so that its head file can also hold the fusion head (as AdapterHub does)
    w.adapter_cfgs["emo"] = pfeiffer()
    fusion_head_sd = w.fusion("static-fusion", ["emo", "genre", "domain"], STATIC_FUSION, head=static_head,
                              qk_std=0.08)
    w.adapter("emo", pfeiffer(), head=head_cfg("classification", labels("joy", "anger", "fear")),
              extra_head_sd=fusion_head_sd)
    w.fusion("houlsby-fusion", ["hq", "houlsby_ln"], dict(DYNAMIC_FUSION, value_before_softmax=False),
             head=head_cfg("classification", sentiment), qk_std=0.1)
    w.fusion("temperature-fusion", ["rf_map", "learned", "domain"],
             dict(DYNAMIC_FUSION, residual_before=True, query_before_ln=True, temperature=True),
             head=head_cfg("classification", labels("a", "b", "c", "d")), qk_std=0.6)

    T, P = TEXTS, PAIRS
    specs = [
        {"id": "base-only-prefixed", "inputs": T[:3], "composition": None, "head": None},
        {"id": "lang-adapter-no-head", "inputs": T[:3], "composition": "lang_de", "head": None},
        {"id": "houlsby-ln-before-after", "inputs": P, "composition": "houlsby_ln", "head": "houlsby_ln"},
        {"id": "bapna-firat", "inputs": T, "composition": "bapna", "head": "bapna"},
        {"id": "head-pooler-without-adapter", "inputs": T[:4], "composition": None, "head": "bapna"},
        {"id": "leave-out-0-tagging", "inputs": T, "composition": "leave0", "head": "leave0"},
        {"id": "reduction-factor-map-multilabel", "inputs": T, "composition": "rf_map", "head": "rf_map"},
        {"id": "learned-scaling-regression", "inputs": T, "composition": "learned", "head": "learned"},
        {"id": "houlsby-qa-pairs", "inputs": P, "composition": "hq", "head": "hq"},
        {"id": "lora-qkv-intermediate-output", "inputs": T, "composition": "lora_full", "head": "lora_full"},
        {"id": "ia3-output", "inputs": T, "composition": "ia3_out", "head": "ia3_out"},
        {"id": "fusion-static", "inputs": T, "composition": {"fuse": ["emo", "genre", "domain"]},
         "head": "emo,genre,domain"},
        {"id": "fusion-dynamic-houlsby", "inputs": T[:5],
         "composition": {"fuse": ["hq", "houlsby_ln"]}, "head": "hq,houlsby_ln"},
        {"id": "fusion-temperature-residual-before-query-before-ln", "inputs": T,
         "composition": {"fuse": ["rf_map", "learned", "domain"]}, "head": "rf_map,learned,domain"},
        {"id": "stack-3", "inputs": T, "composition": {"stack": ["lang_de", "rf_map", "emo"]}, "head": "emo"},
        {"id": "stack-fuse-static", "inputs": T[:4],
         "composition": {"stack": ["lang_de", {"fuse": ["emo", "genre", "domain"]}]}, "head": "emo,genre,domain"},
        {"id": "stack-leave-out-first", "inputs": T[:4], "composition": {"stack": ["leave0", "genre"]},
         "head": "genre"},
        {"id": "stack-bapna-last", "inputs": T[:4], "composition": {"stack": ["lang_de", "bapna"]},
         "head": "bapna"},
        {"id": "parallel-houlsby-variants", "inputs": P, "composition": {"parallel": ["hq", "houlsby_ln"]},
         "head": ["hq", "houlsby_ln"]},
        {"id": "parallel-3-pfeiffer-variants", "inputs": T[:4],
         "composition": {"parallel": ["emo", "rf_map", "learned"]}, "head": ["emo", "rf_map", "learned"]},
        {"id": "batch-split-3", "inputs": T[:5],
         "composition": {"batch_split": ["emo", "genre", "learned"], "sizes": [1, 2, 2]},
         "head": {"batch_split": ["emo", "genre", "learned"], "sizes": [1, 2, 2]}},
        {"id": "truncation-learned", "inputs": [T[1]], "max_length": 10, "composition": "learned",
         "head": "learned"},
        # Average (adapters >= 1.0 only; see reference.py AdapterLocation.average)
        {"id": "average-2-weighted", "inputs": T[:5],
         "composition": {"average": ["emo", "genre"], "weights": [0.3, 0.7]}, "head": "genre"},
        {"id": "average-3-default-weights", "inputs": T[:5],
         "composition": {"average": ["emo", "genre", "domain"]}, "head": "domain"},
        {"id": "stack-average-unnormalised-weights", "inputs": T[:5],
         "composition": {"stack": ["lang_de", {"average": ["emo", "genre"], "weights": [1, 3]}]}, "head": "emo"},
        # Houlsby first: with the Pfeiffer adapter first the library raises KeyError at the attention
        # location (pre_block looks up the first adapter, which has no mh_adapter module there).
        {"id": "average-houlsby-pfeiffer", "inputs": T[:5],
         "composition": {"average": ["hq", "emo"]}, "head": "emo"},
    ]
    return root, build_cases(root, "bert-tiny", specs, cfg["pad_token_id"])


# ----------------------------------------------------------------------------------------------
# roberta-tiny / xlmr-tiny
# ----------------------------------------------------------------------------------------------

def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


CORPUS = TEXTS + [a for p in PAIRS for a in p] + [
    "The film was good and the music was great.", "The book is bad, the movie is better.",
    "This is the best and the worst of the city.", "She went to the market in the morning.",
    "They were reading the news about the weather.", "It is raining in London and in Paris.",
]


def train_bpe(corpus, n_merges):
    b2u = bytes_to_unicode()
    words = {}
    for line in corpus:
        for wd in re.findall(r"'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+", line):
            t = tuple(b2u[b] for b in wd.encode("utf-8"))
            words[t] = words.get(t, 0) + 1
    merges = []
    for _ in range(n_merges):
        pairs = {}
        for wd, c in words.items():
            for a, b in zip(wd, wd[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + c
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]
        if pairs[best] < 2:
            break
        merges.append(best)
        nw = {}
        for wd, c in words.items():
            out, i = [], 0
            while i < len(wd):
                if i + 1 < len(wd) and (wd[i], wd[i + 1]) == best:
                    out.append(wd[i] + wd[i + 1])
                    i += 2
                else:
                    out.append(wd[i])
                    i += 1
            nw[tuple(out)] = nw.get(tuple(out), 0) + c
        words = nw
    return b2u, merges


def make_roberta_tokenizer(mdir):
    b2u, merges = train_bpe(CORPUS, 120)
    vocab = OrderedDict([("<s>", 0), ("<pad>", 1), ("</s>", 2), ("<unk>", 3)])
    for b in range(256):
        vocab.setdefault(b2u[b], len(vocab))
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    vocab["<mask>"] = len(vocab)

    def added(i, c, lstrip=False):
        return {"id": i, "content": c, "single_word": False, "lstrip": lstrip, "rstrip": False,
                "normalized": False, "special": True}
    tj = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added(0, "<s>"), added(1, "<pad>"), added(2, "</s>"), added(3, "<unk>"),
                         added(vocab["<mask>"], "<mask>", lstrip=True)],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0],
                           "trim_offsets": True, "add_prefix_space": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                  "vocab": dict(vocab), "merges": ["%s %s" % m for m in merges]},
    }
    with open(os.path.join(mdir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tj, f, indent=2, ensure_ascii=False)
    with open(os.path.join(mdir, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(dict(vocab), f, ensure_ascii=False)
    with open(os.path.join(mdir, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join("%s %s\n" % m for m in merges))
    special = {"bos_token": "<s>", "cls_token": "<s>", "eos_token": "</s>", "mask_token": "<mask>",
               "pad_token": "<pad>", "sep_token": "</s>", "unk_token": "<unk>"}
    write_json(os.path.join(mdir, "special_tokens_map.json"), special)
    write_json(os.path.join(mdir, "tokenizer_config.json"),
               dict(special, add_prefix_space=False, errors="replace", model_max_length=64, trim_offsets=True,
                    tokenizer_class="RobertaTokenizer"))
    return len(vocab)


def roberta_model(mdir, seed, model_type):
    V = make_roberta_tokenizer(mdir)
    H, I, L = 32, 64, 2
    cfg = {
        "architectures": ["RobertaForMaskedLM" if model_type == "roberta" else "XLMRobertaForMaskedLM"],
        "attention_probs_dropout_prob": 0.1, "bos_token_id": 0, "classifier_dropout": None, "eos_token_id": 2,
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": H, "initializer_range": 0.02,
        "intermediate_size": I, "layer_norm_eps": 1e-05, "max_position_embeddings": 66, "model_type": model_type,
        "num_attention_heads": 4, "num_hidden_layers": L, "pad_token_id": 1, "position_embedding_type": "absolute",
        "transformers_version": "4.26.1", "type_vocab_size": 1, "use_cache": True, "vocab_size": V,
    }
    write_json(os.path.join(mdir, "config.json"), cfg)
    g = gen_for(seed, "roberta-base-model")   # same weights for roberta and xlm-roberta
    sd = OrderedDict()
    we = rnd(g, V, H, std=0.5)
    we[1].zero_()
    pe = rnd(g, 66, H, std=0.5)
    pe[1].zero_()
    sd["roberta.embeddings.word_embeddings.weight"] = we
    sd["roberta.embeddings.position_embeddings.weight"] = pe
    sd["roberta.embeddings.token_type_embeddings.weight"] = rnd(g, 1, H, std=0.5)
    sd["roberta.embeddings.LayerNorm.weight"] = rnd(g, H, std=0.1, mean=1.0)
    sd["roberta.embeddings.LayerNorm.bias"] = rnd(g, H, std=0.1)
    for i in range(L):
        p = "roberta.encoder.layer.%d." % i
        for m in ("query", "key", "value"):
            sd[p + "attention.self.%s.weight" % m] = rnd(g, H, H, std=0.2)
            sd[p + "attention.self.%s.bias" % m] = rnd(g, H, std=0.1)
        sd[p + "attention.output.dense.weight"] = rnd(g, H, H, std=0.2)
        sd[p + "attention.output.dense.bias"] = rnd(g, H, std=0.1)
        sd[p + "attention.output.LayerNorm.weight"] = rnd(g, H, std=0.1, mean=1.0)
        sd[p + "attention.output.LayerNorm.bias"] = rnd(g, H, std=0.1)
        sd[p + "intermediate.dense.weight"] = rnd(g, I, H, std=0.2)
        sd[p + "intermediate.dense.bias"] = rnd(g, I, std=0.1)
        sd[p + "output.dense.weight"] = rnd(g, H, I, std=0.2)
        sd[p + "output.dense.bias"] = rnd(g, H, std=0.1)
        sd[p + "output.LayerNorm.weight"] = rnd(g, H, std=0.1, mean=1.0)
        sd[p + "output.LayerNorm.bias"] = rnd(g, H, std=0.1)
    sd["roberta.pooler.dense.weight"] = rnd(g, H, H, std=0.2)
    sd["roberta.pooler.dense.bias"] = rnd(g, H, std=0.1)
    sd["lm_head.dense.weight"] = rnd(g, H, H, std=0.1)
    sd["lm_head.dense.bias"] = rnd(g, H, std=0.1)
    sd["lm_head.layer_norm.weight"] = rnd(g, H, std=0.1, mean=1.0)
    sd["lm_head.layer_norm.bias"] = rnd(g, H, std=0.1)
    sd["lm_head.decoder.weight"] = we.clone()
    sd["lm_head.bias"] = rnd(g, V, std=0.1)
    R.write_safetensors(os.path.join(mdir, "model.safetensors"), sd)
    return cfg


RTEXTS = [
    "The movie was great!",
    "I really did not like the acting, it was boring and too long.",
    "Paris is a beautiful city in France.",
    "Unbelievably, the café served cheapest food!!",
    "John played music in London yesterday 适配器",
    "  spaces   and\ttabs, numbers 12345 and émojis 🙂",
]


def make_roberta(out, seed=4321, model_type="roberta", store="roberta-tiny", model="roberta-tiny"):
    root = os.path.join(out, store)
    if os.path.exists(root):
        shutil.rmtree(root)
    mdir = os.path.join(root, "models", model)
    os.makedirs(mdir)
    cfg = roberta_model(mdir, seed, model_type)
    mclass = "RobertaAdapterModel" if model_type == "roberta" else "XLMRobertaAdapterModel"
    w = StoreWriter(root, seed if model_type == "roberta" else seed + 1, "roberta", model_type, mclass, cfg)
    sentiment = labels("negative", "positive")
    T = RTEXTS
    if model_type == "roberta":
        w.adapter("topic", pfeiffer(), head=head_cfg("classification", labels("world", "sports", "business", "science")))
        w.adapter("ner", pfeiffer(non_linearity="gelu", reduction_factor=8),
                  head=head_cfg("tagging", labels("O", "B-PER", "I-PER", "B-LOC", "I-LOC"), layers=1))
        w.adapter_cfgs["sst"] = pfeiffer(reduction_factor=8)
        fh = w.fusion("sst-fusion", ["sst", "topic", "ner"], DYNAMIC_FUSION, head=head_cfg("classification", sentiment),
                      qk_std=0.05)
        w.adapter("sst", pfeiffer(reduction_factor=8), head=head_cfg("classification", sentiment), extra_head_sd=fh)
        w.adapter("nli", houlsby(), head=head_cfg("classification", labels("entailment", "neutral", "contradiction")))
        w.adapter("lora_sst", lora(r=4, alpha=8), head=head_cfg("classification", sentiment))
        w.adapter("lang", pfeiffer(reduction_factor=2))
        specs = [
            {"id": "roberta-base-only", "inputs": T, "composition": None, "head": None},
            {"id": "roberta-pfeiffer", "inputs": T, "composition": "sst", "head": "sst"},
            {"id": "roberta-houlsby-pairs", "inputs": PAIRS, "composition": "nli", "head": "nli"},
            {"id": "roberta-lora", "inputs": T, "composition": "lora_sst", "head": "lora_sst"},
            {"id": "roberta-tagging", "inputs": T, "composition": "ner", "head": "ner"},
            {"id": "roberta-fusion", "inputs": T, "composition": {"fuse": ["sst", "topic", "ner"]},
             "head": "sst,topic,ner"},
            {"id": "roberta-stack", "inputs": T[:4], "composition": {"stack": ["lang", "topic"]}, "head": "topic"},
            {"id": "roberta-parallel", "inputs": T[:4], "composition": {"parallel": ["sst", "topic"]},
             "head": ["sst", "topic"]},
            {"id": "roberta-batch-split", "inputs": T[:5],
             "composition": {"batch_split": ["sst", "topic"], "sizes": [2, 3]},
             "head": {"batch_split": ["sst", "topic"], "sizes": [2, 3]}},
            {"id": "roberta-truncation", "inputs": [T[1]], "max_length": 8, "composition": "sst", "head": "sst"},
        ]
    else:
        w.adapter("sst", pfeiffer(non_linearity="gelu"), head=head_cfg("classification", sentiment))
        w.adapter("nli", houlsby(reduction_factor=8),
                  head=head_cfg("classification", labels("entailment", "neutral", "contradiction")))
        w.adapter("ia3", ia3(), head=head_cfg("classification", sentiment))
        specs = [
            {"id": "xlmr-base-only", "inputs": T[:3], "composition": None, "head": None},
            {"id": "xlmr-pfeiffer", "inputs": T, "composition": "sst", "head": "sst"},
            {"id": "xlmr-houlsby-pairs", "inputs": PAIRS, "composition": "nli", "head": "nli"},
            {"id": "xlmr-ia3", "inputs": T, "composition": "ia3", "head": "ia3"},
        ]
    return root, build_cases(root, model, specs, cfg["pad_token_id"], zero_type_ids=True)


# ----------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(REPO, "test", "fixtures", "adapterhub"),
                    help="the golden store written by AdapterHub (its bert-tiny is reused)")
    ap.add_argument("--out", default=os.path.join(REPO, "test", "fixtures"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    results = [make_bert_variants(a.shared, a.out), make_roberta(a.out),
               make_roberta(a.out, model_type="xlm-roberta", store="xlmr-tiny", model="xlmr-tiny")]
    for root, (store, cases) in results:
        print("==", os.path.relpath(root, REPO))
        for c in cases:
            comp = c["composition"]
            if isinstance(comp, dict) and ("parallel" in comp or "batch_split" in comp):
                check_branches_independent(store, c)
            d = check_visible(store, c)
            da = check_average_differs(store, c)
            print("  %-40s %-70s %s%s" % (c["id"], json.dumps(comp), "" if d is None else "vs bare head: %.3f" % d,
                                          "" if da is None else ", vs each child alone: >= %.3f" % da))


if __name__ == "__main__":
    main()
