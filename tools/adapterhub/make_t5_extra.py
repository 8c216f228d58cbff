"""A second golden T5 store, made with the real AdapterHub 3.2.1 library: the general T5 config semantics.

Writes test/fixtures/t5-extra (same layout and cases.json format as test/fixtures/t5) covering what the first
T5 store lacks: gated-gelu FFNs (wi_0 / wi_1, LoRA and (IA)^3 on wi_1), untied embeddings (no d_model^-0.5
before the LM head, an LM head of its own), more decoder layers than encoder layers, d_kv * num_heads != d_model,
other relative_attention_num_buckets / relative_attention_max_distance (inputs and outputs longer than
max_distance), cross-attention adapters, leave_out and per-layer reduction factors on decoder layers, a fusion
of adapters with cross adapters, a stack; and an mT5 base model (gated-silu, tied embeddings: 3.2.1's mT5
classes have no adapters). It also writes relative_buckets.json: transformers' own bucket of every distance
in [-300, 300] for several (num_buckets, max_distance) pairs, both directions (a unit test checks polyhead's
table against it).

    /tmp/ah/python tools/adapterhub/make_t5_extra.py            # writes test/fixtures/t5-extra
    /tmp/ah/python tools/adapterhub/make_t5_extra.py OUT_DIR

Deterministic: fixed seeds, one noise generator per parameter name (crc32 of the name). The vocabulary is the
first seq2seq store's byte-level BPE (as in test/fixtures/t5); texts are decoded as T5's tokenizer classes do
(only eos, unk and pad are special: other added tokens such as <mask> stay in the text), which is checked
against every tokenization and decoded text of test/fixtures/t5 before anything is written.
"""

import json
import os
import shutil
import sys
import zlib

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_seq2seq_extra as s2s  # noqa: E402  (its tokenizer, runner, adapter and file helpers)
from make_seq2seq_extra import EOS, INPUTS, MORE, PAD, TARGETS, Runner, Tok, write_json, write_safetensors  # noqa: E402

from transformers import (BartConfig, BartForConditionalGeneration, MT5Config, MT5ForConditionalGeneration,  # noqa: E402
                          T5Config, T5ForConditionalGeneration)
from transformers.adapters import HoulsbyConfig, IA3Config, LoRAConfig, PfeifferConfig, PfeifferInvConfig  # noqa: E402
from transformers.models.t5.modeling_t5 import T5Attention  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
FIRST_T5 = os.path.join(REPO, "test", "fixtures", "t5")
OUT = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(REPO, "test", "fixtures", "t5-extra")
s2s.OUT = OUT  # the shared helpers write under this store
TOKENIZER = os.path.join(FIRST_T5, "models", "t5-s2s", "tokenizer.json")
UNK = 3

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)


class T5Tok(Tok):
    """T5Tokenizer's decoding: eos, unk and pad are its special tokens; every other token is text."""

    def decode(self, ids):
        return self.tok.decode([i for i in ids if i not in (PAD, EOS, UNK)], skip_special_tokens=False)


def check_tokenizer(tok):
    cases = json.load(open(os.path.join(FIRST_T5, "cases.json")))
    n = 0
    for c in cases:
        for text, ids in zip(c["inputs"], c["tokenized"]["input_ids"]):
            assert tok.ids(text) + [EOS] == ids, (c["id"], text)
            n += 1
        for text, ids in zip(c.get("targets", []), c["tokenized"].get("target_ids", [])):
            assert tok.ids(text) + [EOS] == ids, (c["id"], text)
            n += 1
        for ids, text in zip(c["expected"].get("token_ids", []), c["expected"].get("texts", [])):
            assert tok.decode(ids) == text, (c["id"], ids, text, tok.decode(ids))
            n += 1
    print(f"tokenizer: {n} tokenizations / decodings of test/fixtures/t5 reproduced")


def init_weights(model, seed, std_emb=1.0, std_head=0.5, std_lin=0.12, std_rel=1.0):
    """Random weights, larger than the library's init so generations vary; tied weights initialised once."""
    done = set()
    with torch.no_grad():
        for n, p in model.named_parameters():
            if id(p) in done:
                continue
            done.add(id(p))
            g = s2s.gen(f"{seed}:{n}")
            if n == "lm_head.weight":  # untied only (a tied head is shared.weight, done once)
                p.copy_(torch.randn(p.shape, generator=g) * std_head)
            elif n == "shared.weight" or "embed_tokens" in n:
                p.copy_(torch.randn(p.shape, generator=g) * std_emb)
            elif "relative_attention_bias" in n:
                p.copy_(torch.randn(p.shape, generator=g) * std_rel)
            elif "layer_norm" in n:
                p.copy_(1.0 + torch.randn(p.shape, generator=g) * 0.1)
            else:
                p.copy_(torch.randn(p.shape, generator=g) * std_lin)
    model.eval()


def save_model(model, name):
    d = os.path.join(OUT, "models", name)
    os.makedirs(d)
    model.config.to_json_file(os.path.join(d, "config.json"))
    cfg = json.load(open(os.path.join(d, "config.json")))
    cfg.pop("_name_or_path", None)
    write_json(os.path.join(d, "config.json"), cfg)
    write_safetensors(os.path.join(d, "model.safetensors"), s2s.model_state(model))
    shutil.copy(TOKENIZER, os.path.join(d, "tokenizer.json"))


CLASSES = {"t5": T5ForConditionalGeneration, "mt5": MT5ForConditionalGeneration, "bart": BartForConditionalGeneration}


def load_model(name):
    """A fresh library model from the store's files: config.json, model.safetensors, every adapter and fusion."""
    d = os.path.join(OUT, "models", name)
    cfg = json.load(open(os.path.join(d, "config.json")))
    cls = CLASSES[cfg["model_type"]]
    m = cls(cls.config_class.from_dict(cfg))
    with torch.no_grad():
        for p in m.parameters():
            p.fill_(float("nan"))
    missing, unexpected = m.load_state_dict(s2s.read_safetensors(os.path.join(d, "model.safetensors")), strict=False)
    # mT5 leaves encoder.embed_tokens out of its files (_keys_to_ignore_on_save): tied to shared again below
    assert not unexpected and set(missing) <= {"encoder.embed_tokens.weight"}, (missing, unexpected)
    m.tie_weights()
    m.eval()
    fam = cfg["model_type"]
    if fam != "mt5":  # 3.2.1 gives mT5 no adapters
        for a in sorted(os.listdir(os.path.join(OUT, "adapters"))):
            if a.startswith(fam + "-"):
                m.load_adapter(os.path.join(OUT, "adapters", a), with_head=False)
        for f in sorted(os.listdir(os.path.join(OUT, "fusions"))):
            if f.startswith(fam + "-"):
                m.load_adapter_fusion(os.path.join(OUT, "fusions", f), with_head=False)
    assert not any(torch.isnan(p).any() for p in m.parameters()), name
    return m


def rerun(cases, models, toks, family=lambda model: model.split("-")[0]):
    """Every case recomputed with `models`; returns the largest score difference (ids must be equal).
    A case's expected value may be a list (one per branch of a Parallel / BatchSplit); `family` gives the
    Runner's family of a model name (its tokenizer is `toks[model's prefix]`)."""
    worst = 0.0
    for c in cases:
        m = models[c["model"]]
        fam = family(c["model"])
        R = Runner(toks[c["model"].split("-")[0]])
        if c["kind"] == "generate":
            R.generate(c["id"], m, fam, c["model"], c["composition"], dict(c["options"]), inputs=c["inputs"])
        else:
            R.score(c["id"], m, fam, c["model"], c["composition"], c["options"], inputs=c["inputs"],
                    targets=c["targets"])
        got, exp = R.cases[-1]["expected"], c["expected"]
        got, exp = (got, exp) if isinstance(exp, list) else ([got], [exp])
        assert len(got) == len(exp), c["id"]
        for g, e in zip(got, exp):
            for k in ("token_ids", "texts", "target_ids", "rows", "name"):
                assert g.get(k) == e.get(k), (c["id"], k, g.get(k), e.get(k))
            pairs = [(a, b) for ra, rb in zip(g.get("token_logprobs") or [], e.get("token_logprobs") or [])
                     for a, b in zip(ra, rb)]
            pairs += list(zip(g.get("sequence_scores") or [], e.get("sequence_scores") or []))
            d = max([abs(a - b) for a, b in pairs] or [0.0])
            if d > 1e-5:
                print(f"  {c['id']}: scores differ by {d:.1e}")
            worst = max(worst, d)
    return worst


def verify(cases, toks):
    models = {name: load_model(name) for name in sorted(os.listdir(os.path.join(OUT, "models")))}
    worst = rerun(cases, models, toks)
    assert worst < 1e-5, worst
    print(f"reloaded from the files: all {len(cases)} cases recomputed (scores within {worst:.1e})")
    for m in models.values():
        m.double()
    worst = rerun(cases, models, toks)
    assert worst < 5e-5, worst
    print(f"float64 rerun: same ids for all {len(cases)} cases, scores within {worst:.1e} of the float32 ones")


def bucket_golden():
    out = {}
    distances = torch.arange(-300, 301)
    for buckets, max_distance in [(32, 128), (8, 20), (16, 12), (12, 40), (64, 200), (6, 4), (10, 7)]:
        for bidirectional in (True, False):
            b = T5Attention._relative_position_bucket(distances, bidirectional=bidirectional, num_buckets=buckets,
                                                      max_distance=max_distance)
            out[f"{buckets},{max_distance},{int(bidirectional)}"] = b.tolist()
    return {"distances": [-300, 300], "buckets": out}


def main():
    readme = os.path.join(OUT, "README.md")
    kept = open(readme).read() if os.path.exists(readme) else None  # the store's README is written by hand
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    if kept is not None:
        with open(readme, "w") as f:
            f.write(kept)
    tok = T5Tok(os.path.join(s2s.FIRST, "models", "bart-s2s", "tokenizer.json"))
    check_tokenizer(tok)
    R = Runner(tok)
    log = []

    # ================= T5: gated-gelu, untied, 2 encoder + 3 decoder layers, d_kv 12 =================
    torch.manual_seed(20261128)
    cfg = T5Config(vocab_size=715, d_model=32, d_kv=12, d_ff=48, num_layers=2, num_decoder_layers=3, num_heads=4,
                   relative_attention_num_buckets=16, relative_attention_max_distance=12, dropout_rate=0.0,
                   feed_forward_proj="gated-gelu", tie_word_embeddings=False, pad_token_id=PAD, eos_token_id=EOS,
                   decoder_start_token_id=PAD)
    t5 = T5ForConditionalGeneration(cfg)
    init_weights(t5, "t5-x")
    assert t5.lm_head.weight.data_ptr() != t5.shared.weight.data_ptr()
    save_model(t5, "t5-x")

    # layers: encoder 0, 1; decoder 2, 3, 4
    s2s.add_adapter(t5, "t5", "pfeiffer", PfeifferConfig(reduction_factor=4), "t5x-pfeiffer")
    s2s.add_adapter(t5, "t5", "cross", PfeifferConfig(cross_adapter=True, reduction_factor=4, non_linearity="gelu"),
                    "t5x-cross")
    s2s.add_adapter(t5, "t5", "houlsby_leave",
                    HoulsbyConfig(cross_adapter=True, leave_out=[3], reduction_factor={"4": 2, "0": 16, "default": 8}),
                    "t5x-houlsby_leave")
    s2s.add_adapter(t5, "t5", "lora",
                    LoRAConfig(r=4, alpha=8, attn_matrices=["q", "k", "v"], intermediate_lora=True, output_lora=True),
                    "t5x-lora", std=0.15)
    s2s.add_adapter(t5, "t5", "ia3", IA3Config(output_lora=True), "t5x-ia3")
    s2s.add_adapter(t5, "t5", "dom_a", PfeifferConfig(cross_adapter=True, reduction_factor=4), "t5x-dom_a")
    s2s.add_adapter(t5, "t5", "dom_b", PfeifferConfig(cross_adapter=True, reduction_factor=8, non_linearity="swish"),
                    "t5x-dom_b")
    s2s.add_adapter(t5, "t5", "lang_fr", PfeifferConfig(reduction_factor=2, leave_out=[0, 1]), "t5x-lang_fr")
    s2s.add_fusion(t5, "t5", "domains", ["dom_a", "dom_b"], "t5x-domains")
    # MAD-X: its NICE block runs on the encoder's embeddings, its inverse on the decoder's output before the LM head
    s2s.add_adapter(t5, "t5", "lang_inv", PfeifferInvConfig(reduction_factor=4, inv_adapter_reduction_factor=4),
                    "t5x-lang_inv")
    names = ("pfeiffer", "cross", "houlsby_leave", "lora", "ia3", "dom_a", "dom_b", "lang_fr", "lang_inv")
    for n in names:
        log.append(f"t5-{n} moves base log-probs by up to {s2s.moved(t5, R, 't5', 't5-' + n, {}):.2f}")

    G = lambda o: {"max_new_tokens": 10, **o}  # noqa: E731
    R.generate("t5x-base-greedy", t5, "t5", "t5-x", None, G({"num_beams": 1}), inputs=INPUTS)
    R.generate("t5x-base-beam4", t5, "t5", "t5-x", None, G({"num_beams": 4}))
    R.score("t5x-base-score", t5, "t5", "t5-x", None, {}, inputs=INPUTS, targets=TARGETS)
    for n in names[:5]:
        R.generate(f"t5x-{n}-greedy", t5, "t5", "t5-x", f"t5-{n}", G({"num_beams": 1}), inputs=INPUTS)
        R.score(f"t5x-{n}-score", t5, "t5", "t5-x", f"t5-{n}", {}, inputs=INPUTS, targets=TARGETS)
    R.generate("t5x-cross-beam3", t5, "t5", "t5-x", "t5-cross", G({"num_beams": 3}))
    fuse = {"fuse": ["t5-dom_a", "t5-dom_b"]}
    R.generate("t5x-fusion-greedy", t5, "t5", "t5-x", fuse, G({"num_beams": 1}), inputs=INPUTS)
    R.generate("t5x-fusion-beam2", t5, "t5", "t5-x", fuse, G({"num_beams": 2}))
    R.score("t5x-fusion-score", t5, "t5", "t5-x", fuse, {}, inputs=INPUTS, targets=TARGETS)
    stack = {"stack": ["t5-lang_fr", "t5-dom_a"]}
    R.generate("t5x-stack-beam3", t5, "t5", "t5-x", stack, G({"num_beams": 3}))
    R.score("t5x-stack-score", t5, "t5", "t5-x", stack, {})
    long_input = [" ".join(INPUTS + MORE), INPUTS[0]]
    R.generate("t5x-long-greedy", t5, "t5", "t5-x", "t5-houlsby_leave", {"max_new_tokens": 30, "num_beams": 1},
               inputs=long_input)
    R.generate("t5x-long-beam2", t5, "t5", "t5-x", fuse, {"max_new_tokens": 24, "num_beams": 2}, inputs=long_input)
    R.score("t5x-long-score", t5, "t5", "t5-x", "t5-lora", {}, inputs=long_input,
            targets=[" ".join(TARGETS), TARGETS[0]])

    R.generate("t5x-lang_inv-greedy", t5, "t5", "t5-x", "t5-lang_inv", G({"num_beams": 1}), inputs=INPUTS)
    R.score("t5x-lang_inv-score", t5, "t5", "t5-x", "t5-lang_inv", {}, inputs=INPUTS, targets=TARGETS)
    madx = {"stack": ["t5-lang_inv", "t5-pfeiffer"]}
    R.generate("t5x-madx-beam3", t5, "t5", "t5-x", madx, G({"num_beams": 3}))
    R.score("t5x-madx-score", t5, "t5", "t5-x", madx, {})
    R.score("t5x-inv-not-first-score", t5, "t5", "t5-x", {"stack": ["t5-pfeiffer", "t5-lang_inv"]}, {})

    # ================= mT5: gated-silu, tied embeddings, 3 + 2 layers, base model only =================
    mcfg = MT5Config(vocab_size=715, d_model=32, d_kv=8, d_ff=64, num_layers=3, num_decoder_layers=2, num_heads=4,
                     relative_attention_num_buckets=12, relative_attention_max_distance=40, dropout_rate=0.0,
                     feed_forward_proj="gated-silu", tie_word_embeddings=True, pad_token_id=PAD, eos_token_id=EOS,
                     decoder_start_token_id=PAD)
    mt5 = MT5ForConditionalGeneration(mcfg)
    init_weights(mt5, "mt5-x", std_emb=2.0, std_lin=0.3)
    with torch.no_grad():  # a small pad row: with tied embeddings the start token (pad) would otherwise predict itself
        mt5.shared.weight[PAD] *= 0.1
    assert mt5.lm_head.weight.data_ptr() == mt5.shared.weight.data_ptr()
    save_model(mt5, "mt5-x")
    R.generate("mt5-base-greedy", mt5, "mt5", "mt5-x", None, G({"num_beams": 1}), inputs=INPUTS)
    R.generate("mt5-base-beam3", mt5, "mt5", "mt5-x", None, G({"num_beams": 3}), inputs=INPUTS)
    R.score("mt5-base-score", mt5, "mt5", "mt5-x", None, {}, inputs=INPUTS, targets=TARGETS)
    R.generate("mt5-long-greedy", mt5, "mt5", "mt5-x", None, {"max_new_tokens": 48, "num_beams": 1},
               inputs=long_input)

    # ================= BART with the same kind of MAD-X adapter (the inverse pass is shared) =================
    btok = Tok(os.path.join(s2s.FIRST, "models", "bart-s2s", "tokenizer.json"))  # BartTokenizer's decoding
    B = Runner(btok)
    bcfg = BartConfig(encoder_layers=2, decoder_layers=2, forced_bos_token_id=0, scale_embedding=False, **s2s.COMMON)
    bart = BartForConditionalGeneration(bcfg)
    s2s.init_weights(bart, "bart-inv")
    s2s.save_model(bart, "bart-inv", os.path.join(s2s.FIRST, "models", "bart-s2s", "tokenizer.json"))
    s2s.add_adapter(bart, "bart", "lang_inv", PfeifferInvConfig(reduction_factor=4), "bartx-lang_inv")
    s2s.add_adapter(bart, "bart", "pfeiffer", PfeifferConfig(reduction_factor=4), "bartx-pfeiffer")
    for n in ("lang_inv", "pfeiffer"):
        log.append(f"bart-{n} moves base log-probs by up to {s2s.moved(bart, B, 'bart', 'bart-' + n, {}):.2f}")
    B.generate("bartx-lang_inv-greedy", bart, "bart", "bart-inv", "bart-lang_inv", G({"num_beams": 1}), inputs=INPUTS)
    B.score("bartx-lang_inv-score", bart, "bart", "bart-inv", "bart-lang_inv", {}, inputs=INPUTS, targets=TARGETS)
    B.generate("bartx-madx-beam3", bart, "bart", "bart-inv", {"stack": ["bart-lang_inv", "bart-pfeiffer"]},
               G({"num_beams": 3}))
    B.score("bartx-madx-score", bart, "bart", "bart-inv", {"stack": ["bart-lang_inv", "bart-pfeiffer"]}, {})
    R.cases += B.cases

    verify(R.cases, {"t5": tok, "mt5": tok, "bart": btok})
    write_json(os.path.join(OUT, "cases.json"), R.cases, indent=None)
    write_json(os.path.join(OUT, "relative_buckets.json"), bucket_golden(), indent=None)
    print("\n".join(log))
    print(f"{len(R.cases)} cases")
    for c in R.cases:
        e = c["expected"]
        if "token_ids" in e:
            print(f"  {c['id']}: {[len(t) for t in e['token_ids']]} {e['texts'][:2]} {e.get('sequence_scores', '')}")


if __name__ == "__main__":
    main()
