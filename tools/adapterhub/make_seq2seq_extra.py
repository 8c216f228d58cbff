"""A second golden store of encoder-decoder models with adapters, made with the real AdapterHub 3.2.1 library.

Writes test/fixtures/seq2seq-extra (same layout and cases.json format as test/fixtures/seq2seq) covering what
the first store lacks: cross-attention bottleneck adapters (`cross_adapter: true`), `leave_out` over decoder
layers and per-layer reduction factors that name decoder layers, generation settings taken from config.json
(no_repeat_ngram_size, length_penalty, early_stopping, num_beams, min_length, bad_words_ids, forced BOS/EOS),
num_return_sequences, Parallel / BatchSplit batches, a fusion and a stack of cross adapters, LoRA on the FFN
and (IA)^3 on the FFN output, and a Marian model with a separate (smaller) decoder vocabulary.

    /tmp/ah/python tools/adapterhub/make_seq2seq_extra.py            # writes test/fixtures/seq2seq-extra
    /tmp/ah/python tools/adapterhub/make_seq2seq_extra.py OUT_DIR

Deterministic: fixed seeds, one noise generator per parameter name (crc32 of the name). The byte-level BPE
vocabulary is the first store's (test/fixtures/seq2seq/models/*/tokenizer.json); texts are tokenized and
decoded with transformers' own slow BartTokenizer built from that vocabulary, which is checked against every
tokenization and decoded text of the first store before anything is written.
"""

import collections
import json
import os
import shutil
import struct
import sys
import tempfile
import zlib

import numpy as np
import torch

import transformers
import transformers.tokenization_utils_base as tub
from transformers import (BartConfig, BartForConditionalGeneration, BartTokenizer, MarianConfig, MarianMTModel,
                          MBartConfig, MBartForConditionalGeneration)
from transformers.adapters import AdapterConfig, HoulsbyConfig, IA3Config, LoRAConfig, PfeifferConfig
from transformers.adapters.composition import BatchSplit, Fuse, Parallel, Stack

tub.AddedToken.__str__ = lambda self: self.content  # slow-tokenizer fallback without the tokenizers package

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
FIRST = os.path.join(REPO, "test", "fixtures", "seq2seq")
OUT = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(REPO, "test", "fixtures", "seq2seq-extra")

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

EN = 711
DE, FR, RO = 712, 713, 714
LANG = {"en_XX": 711, "de_DE": 712, "fr_XX": 713, "ro_RO": 714}
PAD, EOS, BOS = 1, 2, 0

INPUTS = [
    "The movie was great!",
    "Paris is a beautiful city in France.",
    "Take two tablets every morning with water.",
    "The court ruled that the contract was void.",
]
MORE = [
    "Stocks fell quickly today after the bank report.",
    "I really did not like the acting, it was boring and too long.",
]
TARGETS = [
    "Der Film war toll!",
    "Paris ist eine schöne Stadt in Frankreich.",
    "Die Aktien fielen heute schnell.",
    "Das Gericht entschied, dass der Vertrag nichtig war.",
]

# ----------------------------------------------------------------------------------------------
# files
# ----------------------------------------------------------------------------------------------

# the safetensors writer of the first generator (same bytes for the same tensors)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_madx_distilbert import write_safetensors  # noqa: E402


def write_json(path, obj, indent=2):
    with open(path, "w") as f:
        json.dump(obj, f, indent=indent, ensure_ascii=True)
        f.write("\n")


# ----------------------------------------------------------------------------------------------
# tokenizer: the first store's byte-level BPE, through transformers' slow BartTokenizer
# ----------------------------------------------------------------------------------------------


class Tok:
    def __init__(self, tokenizer_json):
        tj = json.load(open(tokenizer_json))
        self.tmp = tempfile.mkdtemp()
        vocab = dict(tj["model"]["vocab"])
        for a in tj["added_tokens"]:
            vocab[a["content"]] = a["id"]
        write_json(os.path.join(self.tmp, "vocab.json"), vocab)
        with open(os.path.join(self.tmp, "merges.txt"), "w") as f:
            f.write("#version: 0.2\n")
            for m in tj["model"]["merges"]:
                f.write((m if isinstance(m, str) else " ".join(m)) + "\n")
        self.tok = BartTokenizer(os.path.join(self.tmp, "vocab.json"), os.path.join(self.tmp, "merges.txt"),
                                 additional_special_tokens=list(LANG))
        assert self.tok.convert_tokens_to_ids(list(LANG)) == list(LANG.values())

    def ids(self, text):
        return self.tok(text, add_special_tokens=False)["input_ids"]

    def decode(self, ids):
        return self.tok.decode(ids, skip_special_tokens=True)


def check_tokenizer(tok):
    """The slow tokenizer gives the first store's ids and texts."""
    cases = json.load(open(os.path.join(FIRST, "cases.json")))
    n = 0
    for c in cases:
        fam = c["model"].split("-")[0]
        for text, ids in zip(c["inputs"], c["tokenized"]["input_ids"]):
            assert wrap(fam, tok.ids(text), src=EN) == ids, (c["id"], text)
            n += 1
        for text, ids in zip(c.get("targets", []), c["tokenized"].get("target_ids", [])):
            assert wrap(fam, tok.ids(text), src=DE) == ids, (c["id"], text)
            n += 1
        for ids, text in zip(c["expected"].get("token_ids", []), c["expected"].get("texts", [])):
            assert tok.decode(ids) == text, (c["id"], ids, text)
            n += 1
    print(f"tokenizer: {n} tokenizations / decodings of the first store reproduced")


def wrap(fam, ids, src=EN):
    if fam == "bart":
        return [BOS] + ids + [EOS]
    if fam == "mbart":
        return [src] + ids + [EOS]
    return ids + [EOS]  # marian


# ----------------------------------------------------------------------------------------------
# models
# ----------------------------------------------------------------------------------------------

# decoder_ffn_dim = encoder_ffn_dim for BART / mBART: 3.2.1's BartDecoderLayer / MBartDecoderLayer build fc1 / fc2
# with config.encoder_ffn_dim (modeling_bart.py:418, modeling_mbart.py:415), unlike upstream transformers, so a
# different decoder_ffn_dim would write files no other reader agrees with. Marian (no adapters in 3.2.1) keeps
# upstream's decoder_ffn_dim (modeling_marian.py:390), and its model here has a different one.
COMMON = dict(vocab_size=715, d_model=32, encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=64,
              decoder_ffn_dim=64, max_position_embeddings=64, dropout=0.0, attention_dropout=0.0,
              activation_dropout=0.0, encoder_layerdrop=0.0, decoder_layerdrop=0.0, pad_token_id=PAD,
              eos_token_id=EOS, bos_token_id=BOS, decoder_start_token_id=EOS, forced_eos_token_id=EOS)


def gen(name):
    return torch.Generator().manual_seed(zlib.crc32(name.encode()))


def std_of(n, std_lin, std_cross, std_cross_qk):
    if "encoder_attn.v_proj" in n or "encoder_attn.out_proj" in n:
        return std_cross
    if "encoder_attn.q_proj" in n or "encoder_attn.k_proj" in n:
        return std_cross_qk
    return std_lin


def init_weights(model, seed, std_emb=1.0, std_lin=0.12, std_cross=0.2, std_cross_qk=0.5, std_bias=0.3):
    """Random weights, larger than the library's 0.02 init so generations vary; tied weights initialised once."""
    done = set()
    with torch.no_grad():
        for n, p in model.named_parameters():
            if id(p) in done:
                continue
            done.add(id(p))
            if "embed_positions" in n and isinstance(model, MarianMTModel):
                continue  # sinusoidal, computed (and not saved)
            g = gen(f"{seed}:{n}")
            if "embed" in n or n.startswith("lm_head"):
                p.copy_(torch.randn(p.shape, generator=g) * std_emb)
            elif "layer_norm" in n or "layernorm" in n:
                base = 1.0 if n.endswith("weight") else 0.0
                p.copy_(base + torch.randn(p.shape, generator=g) * 0.1)
            elif n.endswith("weight"):
                p.copy_(torch.randn(p.shape, generator=g) * std_of(n, std_lin, std_cross, std_cross_qk))
            else:
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
        fb = model.final_logits_bias
        fb.copy_(torch.randn(fb.shape, generator=gen(f"{seed}:final_logits_bias")) * std_bias)
    model.eval()


def model_state(model):
    sd = model.state_dict()
    for k in getattr(model, "_keys_to_ignore_on_save", None) or []:
        sd.pop(k, None)
    return {k: v for k, v in sd.items() if ".adapters." not in k and "adapter_fusion_layer" not in k
            and "prefix_tuning" not in k and "loras" not in k}


def save_model(model, name, tokenizer_from, drop_lm_head=False):
    d = os.path.join(OUT, "models", name)
    os.makedirs(d)
    model.config.to_json_file(os.path.join(d, "config.json"))
    cfg = json.load(open(os.path.join(d, "config.json")))
    cfg.pop("_name_or_path", None)
    write_json(os.path.join(d, "config.json"), cfg)
    sd = model_state(model)
    if drop_lm_head:
        assert torch.equal(sd["lm_head.weight"], sd["model.shared.weight"])
        del sd["lm_head.weight"]
    write_safetensors(os.path.join(d, "model.safetensors"), sd)
    shutil.copy(tokenizer_from, os.path.join(d, "tokenizer.json"))


# ----------------------------------------------------------------------------------------------
# adapters
# ----------------------------------------------------------------------------------------------


def perturb(model, marker, seed, std):
    """Seeded noise on every parameter whose name contains marker (freshly initialised adapters are near-identity)."""
    n_p = 0
    with torch.no_grad():
        for n, p in model.named_parameters():
            if marker in n:
                p.add_(torch.randn(p.shape, generator=gen(f"{seed}:{n}")) * std)
                n_p += 1
    assert n_p > 0, marker
    return n_p


def add_adapter(model, fam, name, config, seed, std=0.3):
    torch.manual_seed(zlib.crc32(seed.encode()))  # the library's own init of the new modules
    model.add_adapter(name, config=config)
    if isinstance(config, LoRAConfig) or (isinstance(config, dict) and config.get("architecture") == "lora"):
        marker = f"loras.{name}."
    else:
        marker = f"adapters.{name}."
    perturb(model, marker, seed, std)
    d = os.path.join(OUT, "adapters", f"{fam}-{name}")
    os.makedirs(d)
    model.save_adapter(d, name)
    write_safetensors(os.path.join(d, "adapter.safetensors"), torch.load(os.path.join(d, "pytorch_adapter.bin")))


def add_fusion(model, fam, fname, names, seed, std=0.2):
    torch.manual_seed(zlib.crc32(seed.encode()))
    model.add_adapter_fusion(Fuse(*names), "dynamic")
    perturb(model, "adapter_fusion_layer", seed, std)
    d = os.path.join(OUT, "fusions", f"{fam}-{fname}")
    os.makedirs(d)
    model.save_adapter_fusion(d, ",".join(names), with_head=False)
    write_safetensors(os.path.join(d, "model_adapter_fusion.safetensors"),
                      torch.load(os.path.join(d, "pytorch_model_adapter_fusion.bin")))
    write_json(os.path.join(d, "fusion.json"), {"adapters": [f"{fam}-{n}" for n in names]}, indent=None)


# ----------------------------------------------------------------------------------------------
# running cases
# ----------------------------------------------------------------------------------------------


def lib_setup(comp):
    """The store's composition (names prefixed by family) as the library's adapter setup."""
    if comp is None:
        return None
    if isinstance(comp, str):
        return comp.split("-", 1)[1]
    if "stack" in comp:
        return Stack(*[lib_setup(c) for c in comp["stack"]])
    if "fuse" in comp:
        return Fuse(*[lib_setup(c) for c in comp["fuse"]])
    if "parallel" in comp:
        return Parallel(*[lib_setup(c) for c in comp["parallel"]])
    if "batch_split" in comp:
        return BatchSplit(*[lib_setup(c) for c in comp["batch_split"]], batch_sizes=comp["sizes"])
    raise ValueError(comp)


def activate(model, comp):
    setup = lib_setup(comp)
    if not hasattr(model, "set_active_adapters"):  # Marian: no adapters in 3.2.1
        assert setup is None
        return
    if setup is None:
        model.set_active_adapters(None)
    else:
        model.set_active_adapters(setup)


def pad_batch(rows, pad=PAD):
    L = max(len(r) for r in rows)
    ids = torch.tensor([r + [pad] * (L - len(r)) for r in rows])
    return ids, (ids != pad).long() if pad == PAD else None


def cut(seq):
    """ids after the decoder start token, up to and including the first </s>."""
    out = []
    for t in seq[1:]:
        out.append(t)
        if t == EOS:
            break
    return out


class Runner:
    def __init__(self, tok):
        self.tok = tok
        self.cases = []
        self.block_notes = []

    def tokenized(self, fam, texts, o):
        src = LANG[o.get("src_lang", "en_XX")]
        return [wrap(fam, self.tok.ids(t), src=src) for t in texts]

    def run_generate(self, model, fam, input_ids, o):
        ids, mask = pad_batch(input_ids)
        kw = dict(max_new_tokens=o["max_new_tokens"], output_scores=True, return_dict_in_generate=True)
        for k in ("num_beams", "length_penalty", "num_return_sequences"):
            if k in o:
                kw[k] = o[k]
        if "tgt_lang" in o:
            kw["forced_bos_token_id"] = LANG[o["tgt_lang"]]
        with torch.no_grad():
            out = model.generate(input_ids=ids, attention_mask=mask, **kw)
        seqs = [cut(s) for s in out.sequences.tolist()]
        k = o.get("num_return_sequences", 1)
        beams = o.get("num_beams", model.generation_config.num_beams)
        scores = out.sequences_scores.tolist() if beams > 1 else None
        exp = {"token_ids": seqs[::k], "texts": [self.tok.decode(s) for s in seqs[::k]]}
        if scores is not None:
            exp["sequence_scores"] = scores[::k]
        if k > 1:
            exp["token_ids_all"] = [seqs[i * k:(i + 1) * k] for i in range(len(input_ids))]
            exp["texts_all"] = [[self.tok.decode(s) for s in seqs[i * k:(i + 1) * k]] for i in range(len(input_ids))]
            exp["sequence_scores_all"] = [scores[i * k:(i + 1) * k] for i in range(len(input_ids))]
        return exp

    def run_score(self, model, input_ids, target_ids):
        ids, mask = pad_batch(input_ids)
        labels, _ = pad_batch(target_ids)
        start = model.config.decoder_start_token_id
        dec = torch.cat([torch.full((labels.shape[0], 1), start), labels[:, :-1]], dim=1)
        with torch.no_grad():
            logits = model(input_ids=ids, attention_mask=mask, decoder_input_ids=dec).logits
        lp = torch.log_softmax(logits, dim=-1)
        return self.logprobs(lp, target_ids)

    @staticmethod
    def logprobs(lp, target_ids):
        return [[round(float(lp[i, j, t]), 7) for j, t in enumerate(row)] for i, row in enumerate(target_ids)]

    def generate(self, cid, model, fam, mname, comp, o, inputs=None, note=None):
        inputs = inputs or INPUTS[:3]
        activate(model, comp)
        input_ids = self.tokenized(fam, inputs, o)
        if comp is not None and isinstance(comp, dict) and ("parallel" in comp or "batch_split" in comp):
            exp = self.branches_generate(model, fam, comp, input_ids, o)
        else:
            exp = self.run_generate(model, fam, input_ids, o)
        c = {"id": cid, "kind": "generate", "model": mname, "inputs": inputs, "composition": comp, "options": o,
             "tokenized": {"input_ids": input_ids}, "expected": exp, "atol": 1e-4}
        if note:
            c["note"] = note
        self.cases.append(c)
        activate(model, None)
        return exp

    def score(self, cid, model, fam, mname, comp, o, inputs=None, targets=None):
        inputs = inputs or INPUTS[:3]
        targets = targets or TARGETS[:len(inputs)]
        activate(model, comp)
        input_ids = self.tokenized(fam, inputs, o)
        tgt = LANG[o.get("tgt_lang", "de_DE")]
        target_ids = [wrap(fam, self.tok.ids(t), src=tgt) for t in targets]
        if comp is not None and isinstance(comp, dict) and ("parallel" in comp or "batch_split" in comp):
            exp = self.branches_score(model, comp, input_ids, target_ids)
        else:
            exp = {"target_ids": target_ids, "token_logprobs": self.run_score(model, input_ids, target_ids)}
        self.cases.append({"id": cid, "kind": "score", "model": mname, "inputs": inputs, "targets": targets,
                           "composition": comp, "options": o,
                           "tokenized": {"input_ids": input_ids, "target_ids": target_ids}, "expected": exp,
                           "atol": 1e-4})
        activate(model, None)

    # ---- Parallel / BatchSplit: per-branch expected values, each checked against the library's block run ----

    @staticmethod
    def branch_rows(comp, n):
        if "parallel" in comp:
            return [(b, list(range(n))) for b in comp["parallel"]]
        rows, out = 0, []
        for b, s in zip(comp["batch_split"], comp["sizes"]):
            out.append((b, list(range(rows, rows + s))))
            rows += s
        return out

    def branches_generate(self, model, fam, comp, input_ids, o):
        per = []
        for b, rows in self.branch_rows(comp, len(input_ids)):
            activate(model, b)
            e = self.run_generate(model, fam, [input_ids[r] for r in rows], o)
            per.append({"name": b, "rows": rows, **e})
        # the library's own block run, where it can do it
        activate(model, comp)
        try:
            lib = self.run_generate(model, fam, input_ids, o)
            if "batch_split" in comp:
                joined = [t for p in per for t in p["token_ids"]]
                same = lib["token_ids"] == joined
            else:
                same = "mismatch (one output per row)"
            self.block_notes.append((comp, "generate", same))
        except Exception as ex:  # noqa: BLE001
            self.block_notes.append((comp, "generate", f"{type(ex).__name__}: {str(ex)[:160]}"))
        return per

    def branches_score(self, model, comp, input_ids, target_ids):
        per = []
        for b, rows in self.branch_rows(comp, len(input_ids)):
            activate(model, b)
            tl = self.run_score(model, [input_ids[r] for r in rows], [target_ids[r] for r in rows])
            per.append({"name": b, "rows": rows, "target_ids": [target_ids[r] for r in rows], "token_logprobs": tl})
        activate(model, comp)
        try:
            ids, mask = pad_batch(input_ids)
            labels, _ = pad_batch(target_ids)
            dec = torch.cat([torch.full((labels.shape[0], 1), model.config.decoder_start_token_id), labels[:, :-1]], 1)
            with torch.no_grad():
                logits = model(input_ids=ids, attention_mask=mask, decoder_input_ids=dec).logits
            lp = torch.log_softmax(logits, -1)
            if "parallel" in comp:
                n = len(input_ids)
                lib = [self.logprobs(lp[i * n:(i + 1) * n], target_ids) for i in range(len(per))]
            else:
                full = self.logprobs(lp, target_ids)
                lib = [[full[r] for r in p["rows"]] for p in per]
            diff = max(abs(a - b) for p, l in zip(per, lib) for ra, rb in zip(p["token_logprobs"], l)
                       for a, b in zip(ra, rb))
            self.block_notes.append((comp, "score", f"max |library block - branch alone| = {diff:.2e}"))
        except Exception as ex:  # noqa: BLE001
            self.block_notes.append((comp, "score", f"{type(ex).__name__}: {str(ex)[:160]}"))
        return per


# ----------------------------------------------------------------------------------------------
# the store
# ----------------------------------------------------------------------------------------------


def moved(model, runner, fam, name, o):
    """An adapter clearly changes the bare model's scores."""
    ids = runner.tokenized(fam, INPUTS[:2], o)
    tg = [wrap(fam, runner.tok.ids(t), src=DE) for t in TARGETS[:2]]
    model.set_active_adapters(None)
    a = runner.run_score(model, ids, tg)
    activate(model, name)
    b = runner.run_score(model, ids, tg)
    model.set_active_adapters(None)
    d = max(abs(x - y) for ra, rb in zip(a, b) for x, y in zip(ra, rb))
    assert d > 0.05, (name, d)
    return d


def read_safetensors(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    out = {}
    for k, v in h.items():
        if k == "__metadata__":
            continue
        a, z = v["data_offsets"]
        dt = {"F32": np.float32, "I64": np.int64}[v["dtype"]]
        out[k] = torch.from_numpy(np.frombuffer(b[8 + n + a:8 + n + z], dtype=dt).copy().reshape(v["shape"]))
    return out


CLASSES = {"bart": BartForConditionalGeneration, "mbart": MBartForConditionalGeneration, "marian": MarianMTModel}


def load_model(name, over=None):
    """A fresh library model from the store's files: config.json (with overrides), model.safetensors, every
    adapter (load_adapter) and fusion (load_adapter_fusion) of its family."""
    d = os.path.join(OUT, "models", name)
    cfg = json.load(open(os.path.join(d, "config.json")))
    cls = CLASSES[cfg["model_type"]]
    config = cls.config_class.from_dict({**cfg, **(over or {})})
    m = cls(config)
    if cfg["model_type"] == "marian" and not config.share_encoder_decoder_embeddings:
        m.model.decoder.embed_tokens = torch.nn.Embedding(config.decoder_vocab_size, config.d_model, PAD)
        m.tie_weights()
    with torch.no_grad():
        for p in m.parameters():
            p.fill_(float("nan"))
    missing, unexpected = m.load_state_dict(read_safetensors(os.path.join(d, "model.safetensors")), strict=False)
    assert not unexpected, unexpected
    assert set(missing) <= {"lm_head.weight", "model.encoder.embed_positions.weight",
                            "model.decoder.embed_positions.weight"}, missing
    if cfg["model_type"] == "marian":  # sinusoidal tables: recomputed, not stored
        for emb in (m.model.encoder.embed_positions, m.model.decoder.embed_positions):
            emb.weight = emb._init_weight(emb.weight)
    m.tie_weights()
    m.eval()
    fam = cfg["model_type"]
    if fam != "marian":
        for a in sorted(os.listdir(os.path.join(OUT, "adapters"))):
            if a.startswith(fam + "-"):
                m.load_adapter(os.path.join(OUT, "adapters", a), with_head=False)
        for f in sorted(os.listdir(os.path.join(OUT, "fusions"))):
            if f.startswith(fam + "-"):
                m.load_adapter_fusion(os.path.join(OUT, "fusions", f), with_head=False)
    assert not any(torch.isnan(p).any() for p in m.parameters()), name
    return m


NEUTRAL = {"no_repeat_ngram_size": 0, "bad_words_ids": None, "min_length": 0, "early_stopping": False,
           "length_penalty": 1.0, "num_beams": 1, "forced_bos_token_id": None}


def effects(case, tok):
    """Which of the model's config.json generation settings this case's output depends on: the case rerun with
    each setting set to its neutral value (from the saved files), compared with the expected ids and scores."""
    cfg = json.load(open(os.path.join(OUT, "models", case["model"], "config.json")))
    fam = cfg["model_type"]
    out = []
    for k, v in NEUTRAL.items():
        if cfg.get(k) in (None, v) or k in case["options"]:
            continue
        R = Runner(tok)
        m = load_model(case["model"], {k: v})
        R.generate(case["id"], m, fam, case["model"], case["composition"], dict(case["options"]),
                   inputs=case["inputs"])
        if R.cases[-1]["expected"] != case["expected"]:
            out.append(k)
    return out


def verify(cases, tok):
    """Reload the store from its files into fresh library models (weights from model.safetensors, adapters with
    load_adapter, fusions with load_adapter_fusion) and recompute every case."""
    models = {name: load_model(name) for name in sorted(os.listdir(os.path.join(OUT, "models")))}
    R = Runner(tok)
    worst = 0.0
    for c in cases:
        m = models[c["model"]]
        fam = c["model"].split("-")[0]
        if c["kind"] == "generate":
            o = dict(c["options"])
            R.generate(c["id"], m, fam, c["model"], c["composition"], o, inputs=c["inputs"])
            got = R.cases[-1]["expected"]
            if got != c["expected"]:
                a, b = json.dumps(got), json.dumps(c["expected"])
                assert json.loads(a) == json.loads(b), (c["id"], a[:400], b[:400])
        else:
            R.score(c["id"], m, fam, c["model"], c["composition"], c["options"], inputs=c["inputs"],
                    targets=c["targets"])
            got, exp = R.cases[-1]["expected"], c["expected"]
            gl = [got] if isinstance(got, dict) else got
            el = [exp] if isinstance(exp, dict) else exp
            for g_, e_ in zip(gl, el):
                assert g_["target_ids"] == e_["target_ids"]
                for ra, rb in zip(g_["token_logprobs"], e_["token_logprobs"]):
                    worst = max(worst, max(abs(x - y) for x, y in zip(ra, rb)))
    assert worst < 1e-5, worst
    print(f"reloaded from the files: all {len(cases)} cases recomputed (log-probs within {worst:.1e})")

    # conditioning: the same cases in float64 give the same ids, and log-probs / beam scores within 1e-5, so
    # the float32 values are accurate well inside the 1e-4 tolerance and no decision is a near-tie
    for m in models.values():
        m.double()
    R = Runner(tok)
    worst = 0.0
    for c in cases:
        m = models[c["model"]]
        fam = c["model"].split("-")[0]
        if c["kind"] == "generate":
            R.generate(c["id"], m, fam, c["model"], c["composition"], dict(c["options"]), inputs=c["inputs"])
        else:
            R.score(c["id"], m, fam, c["model"], c["composition"], c["options"], inputs=c["inputs"],
                    targets=c["targets"])
        got, exp = R.cases[-1]["expected"], c["expected"]
        for g_, e_ in zip([got] if isinstance(got, dict) else got, [exp] if isinstance(exp, dict) else exp):
            for k in ("token_ids", "token_ids_all", "target_ids"):
                assert g_.get(k) == e_.get(k), (c["id"], k, g_.get(k), e_.get(k))
            pairs = []
            for k in ("token_logprobs", "sequence_scores_all"):
                pairs += [(a, b) for ra, rb in zip(g_.get(k) or [], e_.get(k) or []) for a, b in zip(ra, rb)]
            pairs += list(zip(g_.get("sequence_scores") or [], e_.get("sequence_scores") or []))
            d = max([abs(a - b) for a, b in pairs] or [0.0])
            assert d < 1e-5, (c["id"], d)
            worst = max(worst, d)
    print(f"float64 rerun: same ids for all {len(cases)} cases, scores within {worst:.1e} of the float32 ones")


def main():
    readme = os.path.join(OUT, "README.md")
    kept = open(readme).read() if os.path.exists(readme) else None  # the store's README is written by hand
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    if kept is not None:
        with open(readme, "w") as f:
            f.write(kept)
    tok = Tok(os.path.join(FIRST, "models", "bart-s2s", "tokenizer.json"))
    check_tokenizer(tok)
    R = Runner(tok)
    log = []

    # ================= BART =================
    torch.manual_seed(20261127)
    bcfg = BartConfig(encoder_layers=3, decoder_layers=2, forced_bos_token_id=BOS, scale_embedding=False, **COMMON)
    bart = BartForConditionalGeneration(bcfg)
    init_weights(bart, "bart-x")
    save_model(bart, "bart-x", os.path.join(FIRST, "models", "bart-s2s", "tokenizer.json"))

    add_adapter(bart, "bart", "cross", PfeifferConfig(cross_adapter=True, reduction_factor=4), "bart-cross")
    add_adapter(bart, "bart", "houlsby_cross",
                HoulsbyConfig(cross_adapter=True, non_linearity="swish", reduction_factor=4), "bart-houlsby_cross")
    add_adapter(bart, "bart", "leave",
                PfeifferConfig(cross_adapter=True, leave_out=[3], reduction_factor={"4": 2, "0": 16, "default": 8}),
                "bart-leave")
    add_adapter(bart, "bart", "dom_a", PfeifferConfig(cross_adapter=True, reduction_factor=4), "bart-dom_a")
    add_adapter(bart, "bart", "dom_b", PfeifferConfig(cross_adapter=True, reduction_factor=8, non_linearity="gelu"),
                "bart-dom_b")
    add_adapter(bart, "bart", "lang_fr", PfeifferConfig(reduction_factor=2, leave_out=[0, 1, 2]), "bart-lang_fr")
    add_adapter(bart, "bart", "lora_ffn",
                LoRAConfig(r=4, alpha=8, attn_matrices=["q", "k", "v"], intermediate_lora=True, output_lora=True),
                "bart-lora_ffn", std=0.15)
    ia3 = IA3Config(output_lora=True)
    torch.manual_seed(zlib.crc32(b"bart-ia3_out"))
    bart.add_adapter("ia3_out", config=ia3)
    perturb(bart, "loras.ia3_out.", "bart-ia3_out", 0.3)
    d = os.path.join(OUT, "adapters", "bart-ia3_out")
    os.makedirs(d)
    bart.save_adapter(d, "ia3_out")
    write_safetensors(os.path.join(d, "adapter.safetensors"), torch.load(os.path.join(d, "pytorch_adapter.bin")))
    add_fusion(bart, "bart", "domains", ["dom_a", "dom_b"], "bart-domains")

    for n in ("cross", "houlsby_cross", "leave", "dom_a", "dom_b", "lang_fr", "lora_ffn", "ia3_out"):
        log.append(f"bart-{n} moves base log-probs by up to {moved(bart, R, 'bart', 'bart-' + n, {}):.2f}")

    G = lambda o: {"max_new_tokens": 10, **o}  # noqa: E731
    R.generate("bart-base-greedy", bart, "bart", "bart-x", None, G({"num_beams": 1}), inputs=INPUTS)
    R.generate("bart-base-beam2", bart, "bart", "bart-x", None, G({"num_beams": 2}))
    R.score("bart-base-score", bart, "bart", "bart-x", None, {}, inputs=INPUTS, targets=TARGETS)
    for n in ("cross", "houlsby_cross", "leave"):
        R.generate(f"bart-{n}-greedy", bart, "bart", "bart-x", f"bart-{n}", G({"num_beams": 1}))
        R.score(f"bart-{n}-score", bart, "bart", "bart-x", f"bart-{n}", {})
    R.generate("bart-cross-beam5", bart, "bart", "bart-x", "bart-cross", G({"num_beams": 5}))
    R.generate("bart-leave-beam4", bart, "bart", "bart-x", "bart-leave", G({"num_beams": 4}))
    R.generate("bart-lora_ffn-greedy", bart, "bart", "bart-x", "bart-lora_ffn", G({"num_beams": 1}))
    R.score("bart-lora_ffn-score", bart, "bart", "bart-x", "bart-lora_ffn", {})
    R.generate("bart-ia3_out-greedy", bart, "bart", "bart-x", "bart-ia3_out", G({"num_beams": 1}))
    R.score("bart-ia3_out-score", bart, "bart", "bart-x", "bart-ia3_out", {})
    fuse = {"fuse": ["bart-dom_a", "bart-dom_b"]}
    R.generate("bart-fusion-cross-greedy", bart, "bart", "bart-x", fuse, G({"num_beams": 1}))
    R.score("bart-fusion-cross-score", bart, "bart", "bart-x", fuse, {})
    stack = {"stack": ["bart-lang_fr", "bart-dom_a"]}
    R.generate("bart-stack-cross-beam3", bart, "bart", "bart-x", stack, G({"num_beams": 3}))
    R.score("bart-stack-cross-score", bart, "bart", "bart-x", stack, {})
    par = {"parallel": ["bart-dom_a", "bart-dom_b"]}
    R.generate("bart-parallel-greedy", bart, "bart", "bart-x", par, G({"num_beams": 1}))
    R.generate("bart-parallel-beam2", bart, "bart", "bart-x", par, G({"num_beams": 2}))
    R.score("bart-parallel-score", bart, "bart", "bart-x", par, {})
    bs = {"batch_split": ["bart-dom_a", "bart-dom_b"], "sizes": [2, 2]}
    R.generate("bart-batch_split-greedy", bart, "bart", "bart-x", bs, G({"num_beams": 1}), inputs=INPUTS)
    R.score("bart-batch_split-score", bart, "bart", "bart-x", bs, {}, inputs=INPUTS, targets=TARGETS)

    # generation settings from config.json: same weights, lm_head left out of the file (tied)
    base_greedy = R.cases[0]["expected"]["token_ids"]
    counts = collections.Counter(t for s in base_greedy for t in s[1:-1])
    bad1 = counts.most_common(1)[0][0]
    first = base_greedy[1]
    bigram = [first[1], first[2]] if first[1] != bad1 and first[2] != bad1 else [first[3], first[4]]
    gcfg = BartConfig(encoder_layers=3, decoder_layers=2, forced_bos_token_id=BOS, scale_embedding=False,
                      no_repeat_ngram_size=2, length_penalty=2.0, early_stopping=True, num_beams=3, min_length=4,
                      bad_words_ids=[[bad1], bigram], max_length=20, **COMMON)
    bgen = BartForConditionalGeneration(gcfg)
    bgen.load_state_dict(model_state(bart), strict=False)
    with torch.no_grad():  # its own final_logits_bias: </s> more likely, so lengths, min_length and beams matter
        bgen.final_logits_bias[0, EOS] += 2.5
    bgen.eval()
    save_model(bgen, "bart-gen", os.path.join(FIRST, "models", "bart-s2s", "tokenizer.json"), drop_lm_head=True)
    log.append(f"bart-gen: bad_words_ids {gcfg.bad_words_ids} (most frequent greedy token of bart-x, and a bigram)")
    R.generate("bartgen-default-beams", bgen, "bart", "bart-gen", None, {"max_new_tokens": 12}, inputs=INPUTS)
    R.generate("bartgen-greedy", bgen, "bart", "bart-gen", None, G({"num_beams": 1}), inputs=INPUTS)
    R.generate("bartgen-beam5-lp0.5", bgen, "bart", "bart-gen", None, G({"num_beams": 5, "length_penalty": 0.5}),
               inputs=INPUTS)
    R.generate("bartgen-beam4-nrs2", bgen, "bart", "bart-gen", None, G({"num_beams": 4, "num_return_sequences": 2}),
               inputs=INPUTS)
    R.generate("bartgen-beam2", bgen, "bart", "bart-gen", None, G({"num_beams": 2}), inputs=INPUTS)
    R.generate("bartgen-minlen-edge", bgen, "bart", "bart-gen", None, {"max_new_tokens": 3, "num_beams": 4},
               inputs=INPUTS)
    R.score("bartgen-score", bgen, "bart", "bart-gen", None, {})
    for n in ("cross", "houlsby_cross"):
        bgen.load_adapter(os.path.join(OUT, "adapters", f"bart-{n}"), with_head=False)
    R.generate("bartgen-houlsby_cross-default-beams", bgen, "bart", "bart-gen", "bart-houlsby_cross",
               {"max_new_tokens": 12}, inputs=INPUTS)
    R.generate("bartgen-houlsby_cross-greedy", bgen, "bart", "bart-gen", "bart-houlsby_cross",
               G({"num_beams": 1}), inputs=INPUTS)
    R.generate("bartgen-cross-beam4-lp0.5", bgen, "bart", "bart-gen", "bart-cross",
               G({"num_beams": 4, "length_penalty": 0.5}), inputs=INPUTS)

    # ================= mBART (pre-LN) =================
    mcfg = MBartConfig(encoder_layers=2, decoder_layers=3, scale_embedding=True, no_repeat_ngram_size=2,
                       activation_function="relu", **COMMON)
    mbart = MBartForConditionalGeneration(mcfg)
    init_weights(mbart, "mbart-x")
    save_model(mbart, "mbart-x", os.path.join(FIRST, "models", "mbart-s2s", "tokenizer.json"))
    add_adapter(mbart, "mbart", "cross", PfeifferConfig(cross_adapter=True, reduction_factor=4), "mbart-cross")
    add_adapter(mbart, "mbart", "houlsby_cross", HoulsbyConfig(cross_adapter=True, reduction_factor=8),
                "mbart-houlsby_cross")
    add_adapter(mbart, "mbart", "leave",
                HoulsbyConfig(cross_adapter=True, leave_out=[2], reduction_factor={"3": 2, "default": 8}),
                "mbart-leave")
    add_adapter(mbart, "mbart", "dom_a", PfeifferConfig(reduction_factor=4), "mbart-dom_a")
    add_adapter(mbart, "mbart", "dom_b", PfeifferConfig(cross_adapter=True, reduction_factor=4, non_linearity="swish"),
                "mbart-dom_b")
    for n in ("cross", "houlsby_cross", "leave", "dom_a", "dom_b"):
        log.append(f"mbart-{n} moves base log-probs by up to {moved(mbart, R, 'mbart', 'mbart-' + n, {}):.2f}")
    L = {"src_lang": "en_XX", "tgt_lang": "de_DE"}
    R.generate("mbart-base-greedy", mbart, "mbart", "mbart-x", None, G({"num_beams": 1, **L}))
    R.generate("mbart-base-beam4", mbart, "mbart", "mbart-x", None, G({"num_beams": 4, **L}))
    R.generate("mbart-base-fr-ro", mbart, "mbart", "mbart-x", None,
               G({"num_beams": 1, "src_lang": "fr_XX", "tgt_lang": "ro_RO"}))
    R.score("mbart-base-score", mbart, "mbart", "mbart-x", None, L)
    for n in ("cross", "houlsby_cross", "leave"):
        R.generate(f"mbart-{n}-greedy", mbart, "mbart", "mbart-x", f"mbart-{n}", G({"num_beams": 1, **L}))
        R.score(f"mbart-{n}-score", mbart, "mbart", "mbart-x", f"mbart-{n}", L)
    R.generate("mbart-houlsby_cross-beam4-nrs2", mbart, "mbart", "mbart-x", "mbart-houlsby_cross",
               G({"num_beams": 4, "num_return_sequences": 2, **L}))
    bs = {"batch_split": ["mbart-dom_a", "mbart-dom_b"], "sizes": [2, 2]}
    R.generate("mbart-batch_split-greedy", mbart, "mbart", "mbart-x", bs, G({"num_beams": 1, **L}), inputs=INPUTS)
    R.generate("mbart-batch_split-beam3", mbart, "mbart", "mbart-x", bs, G({"num_beams": 3, **L}), inputs=INPUTS)
    R.score("mbart-batch_split-score", mbart, "mbart", "mbart-x", bs, L, inputs=INPUTS, targets=TARGETS)
    stack = {"stack": ["mbart-cross", "mbart-dom_b"]}
    R.generate("mbart-stack-cross-greedy", mbart, "mbart", "mbart-x", stack, G({"num_beams": 1, **L}))
    R.score("mbart-stack-cross-score", mbart, "mbart", "mbart-x", stack, L)
    par = {"parallel": ["mbart-dom_a", "mbart-dom_b"]}
    R.score("mbart-parallel-score", mbart, "mbart", "mbart-x", par, L)

    # ================= Marian, separate decoder vocabulary =================
    kcfg = MarianConfig(encoder_layers=2, decoder_layers=3, scale_embedding=True, activation_function="swish",
                        share_encoder_decoder_embeddings=False, decoder_vocab_size=705, bad_words_ids=[[PAD]],
                        **{**COMMON, "decoder_start_token_id": PAD, "bos_token_id": None, "decoder_ffn_dim": 80})
    marian = MarianMTModel(kcfg)
    # 4.26.1's MarianModel deep-copies the vocab_size-row shared embedding for the decoder too, and ties the LM
    # head to it: 715 logits against a 705-wide final_logits_bias. Give the decoder the decoder_vocab_size
    # embedding MarianDecoder builds itself when given none (the layout of real separate-vocabulary checkpoints)
    # and tie the head to it.
    marian.model.decoder.embed_tokens = torch.nn.Embedding(705, kcfg.d_model, PAD)
    marian.tie_weights()
    init_weights(marian, "marian-x", std_emb=0.25)  # scaled by sqrt(d_model), no embedding LayerNorm
    assert marian.model.shared is None and marian.lm_head.weight.shape[0] == 705
    save_model(marian, "marian-x", os.path.join(FIRST, "models", "marian-s2s", "tokenizer.json"))
    R.generate("marian-base-greedy", marian, "marian", "marian-x", None, G({"num_beams": 1}), inputs=INPUTS)
    R.generate("marian-base-beam4", marian, "marian", "marian-x", None, G({"num_beams": 4}))
    R.score("marian-base-score", marian, "marian", "marian-x", None, {}, inputs=INPUTS, targets=TARGETS)

    verify(R.cases, tok)
    for c in R.cases:
        if c["kind"] == "generate" and c["model"] in ("bart-gen", "mbart-x", "marian-x"):
            c["config_settings_used"] = effects(c, tok)
            log.append(f"{c['id']}: output depends on config.json's {c['config_settings_used']}")
    for c in R.cases:
        for t in (c["tokenized"].get("target_ids") or []):
            assert c["model"] != "marian-x" or max(t) < 705
    write_json(os.path.join(OUT, "cases.json"), R.cases, indent=None)
    print("\n".join(log))
    print("block runs (library's own Parallel / BatchSplit vs each branch alone):")
    for comp, kind, note in R.block_notes:
        print(" ", json.dumps(comp), kind, note)
    print(f"{len(R.cases)} cases")
    for c in R.cases:
        e = c["expected"]
        if isinstance(e, list):
            print(f"  {c['id']}: " + " | ".join(str(b.get('token_ids', '')) [:60] for b in e))
        elif "token_ids" in e:
            print(f"  {c['id']}: {e['token_ids']} {e.get('sequence_scores', '')}")


if __name__ == "__main__":
    main()
