"""A golden store of prefix-tuned T5 models, made with the real AdapterHub 3.2.1 library.

Writes test/fixtures/t5-prefix (same layout and cases.json format as test/fixtures/t5): the T5 model of
test/fixtures/t5 (copied) and a gated-gelu T5 with untied embeddings and more decoder than encoder layers, with
prefix-tuned adapters — the prefix MLP at all three locations (encoder self-attention, decoder self-attention,
decoder cross-attention), flat prefixes, a prefix on the decoder's self-attention only, a prefix longer than the
relative attention's max distance, a prefix with the encoder's layers left out, MAM (prefix tuning + a parallel
adapter), UniPELT (gated LoRA, prefix tuning and Pfeiffer adapter), a prefix gated apart for keys and values, a
stack of two prefixes, and batch_split / parallel of prefixes of different lengths — with greedy and beam
generation and teacher-forced scoring.

In T5 the prefix keys change the relative position bias: the library computes the bias of the first layer over
key_length = prefix + keys (the prefix slots at memory positions 0 … P-1, the sequence's own keys shifted to
P …), adds the mask (zeros for the prefix) and reuses that bias in every layer; the cross-attention has no
position bias. A prefix left out of some layers of one stack (but not all) fails in the library (the first
layer's bias no longer fits the others' keys), so the store has none.

    /tmp/ah/python tools/adapterhub/make_t5_prefix.py            # writes test/fixtures/t5-prefix
    /tmp/ah/python tools/adapterhub/make_t5_prefix.py OUT_DIR

The machinery (tokenizer, case runner, weight init, reload-and-recompute and float64 checks) is
make_t5_extra.py's and make_seq2seq_extra.py's. Deterministic: re-running gives byte-identical files.
"""

import json
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_seq2seq_extra as s2s  # noqa: E402
import make_seq2seq_prefix as P  # noqa: E402
import make_t5_extra as T  # noqa: E402
from make_seq2seq_extra import EOS, INPUTS, MORE, PAD, TARGETS, Runner, write_json  # noqa: E402

from transformers import T5Config, T5ForConditionalGeneration  # noqa: E402
from transformers.adapters import ConfigUnion, LoRAConfig, ParallelConfig, PfeifferConfig, PrefixTuningConfig  # noqa: E402

OUT = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(T.REPO, "test", "fixtures", "t5-prefix")
s2s.OUT = OUT
T.OUT = OUT
P.OUT = OUT  # P.add_prefix saves there

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)


def unipelt(prefix_length, bottleneck_size):
    """UniPELTConfig's union (gated LoRA r 8 on q/v, gated prefix tuning, gated Pfeiffer with reduction 16) with a
    smaller prefix MLP than its default 512: every attention layer saves its own copy of the prefix weights."""
    return ConfigUnion(LoRAConfig(r=8, use_gating=True),
                       PrefixTuningConfig(prefix_length=prefix_length, bottleneck_size=bottleneck_size, use_gating=True),
                       PfeifferConfig(reduction_factor=16, use_gating=True))


def load_model(name):
    """A fresh library model from the store's files, with the adapters named after it (t5-*, t5g-*)."""
    d = os.path.join(OUT, "models", name)
    cfg = json.load(open(os.path.join(d, "config.json")))
    m = T5ForConditionalGeneration(T5Config.from_dict(cfg))
    with torch.no_grad():
        for p in m.parameters():
            p.fill_(float("nan"))
    missing, unexpected = m.load_state_dict(s2s.read_safetensors(os.path.join(d, "model.safetensors")), strict=False)
    assert not unexpected and set(missing) <= {"encoder.embed_tokens.weight", "decoder.embed_tokens.weight",
                                               "lm_head.weight"}, (missing, unexpected)
    m.tie_weights()
    m.eval()
    fam = name.split("-")[0]
    for a in sorted(os.listdir(os.path.join(OUT, "adapters"))):
        if a.split("-")[0] == fam:
            m.load_adapter(os.path.join(OUT, "adapters", a), with_head=False)
    assert not any(torch.isnan(p).any() for p in m.parameters()), name
    return m


def verify(cases, tok):
    models = {name: load_model(name) for name in sorted(os.listdir(os.path.join(OUT, "models")))}
    toks = {"t5": tok, "t5g": tok}
    worst = T.rerun(cases, models, toks, family=lambda model: "t5")
    assert worst < 1e-5, worst
    print(f"reloaded from the files: all {len(cases)} cases recomputed (scores within {worst:.1e})")
    for m in models.values():
        m.double()
    worst = T.rerun(cases, models, toks, family=lambda model: "t5")
    assert worst < 5e-5, worst
    print(f"float64 rerun: same ids for all {len(cases)} cases, scores within {worst:.1e} of the float32 ones")


def main():
    readme = os.path.join(OUT, "README.md")
    kept = open(readme).read() if os.path.exists(readme) else None  # the store's README is written by hand
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    for d in ("models", "adapters"):
        os.makedirs(os.path.join(OUT, d))
    if kept is not None:
        with open(readme, "w") as f:
            f.write(kept)
    tok = T.T5Tok(os.path.join(s2s.FIRST, "models", "bart-s2s", "tokenizer.json"))
    T.check_tokenizer(tok)
    R = Runner(tok)
    log = []
    G = lambda o: {"max_new_tokens": 10, **o}  # noqa: E731
    long_input = [" ".join(INPUTS + MORE), INPUTS[0]]

    # ================= the T5 of test/fixtures/t5: relu, tied, 2 + 2 layers, 8 buckets, max distance 20 =================
    shutil.copytree(os.path.join(T.FIRST_T5, "models", "t5-s2s"), os.path.join(OUT, "models", "t5-s2s"))
    t5 = load_model("t5-s2s")
    P.add_prefix(t5, "t5", "prefix", PrefixTuningConfig(prefix_length=5, bottleneck_size=24), "t5-prefix")
    P.add_prefix(t5, "t5", "prefix_flat", PrefixTuningConfig(prefix_length=4, flat=True), "t5-prefix_flat", std=0.5)
    P.add_prefix(t5, "t5", "prefix_self", PrefixTuningConfig(prefix_length=3, bottleneck_size=16, encoder_prefix=False,
                                                            cross_prefix=False), "t5-prefix_self", std=0.3)
    # longer than max_distance (20): the sequence's own keys all sit past it from the first query
    P.add_prefix(t5, "t5", "prefix_long", PrefixTuningConfig(prefix_length=24, bottleneck_size=48, non_linearity="relu"),
               "t5-prefix_long")
    P.add_prefix(t5, "t5", "mam", ConfigUnion(PrefixTuningConfig(prefix_length=10, bottleneck_size=32), ParallelConfig()),
               "t5-mam")
    P.add_prefix(t5, "t5", "unipelt", unipelt(10, 32), "t5-unipelt")
    names = ("prefix", "prefix_flat", "prefix_self", "prefix_long", "mam", "unipelt")
    for n in names:
        log.append(f"t5-{n} moves base log-probs by up to {s2s.moved(t5, R, 't5', 't5-' + n, {}):.2f}")
    for n in names:
        R.generate(f"t5-{n}-greedy", t5, "t5", "t5-s2s", f"t5-{n}", G({"num_beams": 1}), inputs=INPUTS)
        R.score(f"t5-{n}-score", t5, "t5", "t5-s2s", f"t5-{n}", {}, inputs=INPUTS, targets=TARGETS)
    R.generate("t5-prefix-beam4", t5, "t5", "t5-s2s", "t5-prefix", G({"num_beams": 4}))
    R.generate("t5-mam-beam3", t5, "t5", "t5-s2s", "t5-mam", G({"num_beams": 3}))
    R.generate("t5-unipelt-beam3", t5, "t5", "t5-s2s", "t5-unipelt", G({"num_beams": 3}))
    R.generate("t5-unipelt-long-greedy", t5, "t5", "t5-s2s", "t5-unipelt", {"max_new_tokens": 20, "num_beams": 1},
               inputs=long_input)
    stack = {"stack": ["t5-prefix", "t5-prefix_long"]}
    R.generate("t5-stack-prefixes-greedy", t5, "t5", "t5-s2s", stack, G({"num_beams": 1}))
    R.score("t5-stack-prefixes-score", t5, "t5", "t5-s2s", stack, {})
    R.score("t5-base-score", t5, "t5", "t5-s2s", None, {}, inputs=INPUTS, targets=TARGETS)
    # BatchSplit / Parallel of prefixes of different lengths: each branch as it computes alone. The library's own
    # block pads the shorter prefix in front to the longest one, and on T5 those pad slots take memory positions,
    # so its rows differ from the branch alone (the difference is recorded in the case's note)
    split = {"batch_split": ["t5-prefix", "t5-prefix_long"], "sizes": [2, 2]}
    R.score("t5-split-prefixes-score", t5, "t5", "t5-s2s", split, {}, inputs=INPUTS, targets=TARGETS)
    R.cases[-1]["note"] = f"each branch alone; the library's BatchSplit block: {R.block_notes[-1][2]}"
    par = {"parallel": ["t5-prefix", "t5-prefix_flat"]}
    R.generate("t5-parallel-prefixes-greedy", t5, "t5", "t5-s2s", par, G({"num_beams": 1}))
    R.cases[-1]["note"] = f"each branch alone; the library's Parallel block: {R.block_notes[-1][2]}"
    R.generate("t5-prefix-long-greedy", t5, "t5", "t5-s2s", "t5-prefix", {"max_new_tokens": 30, "num_beams": 1},
               inputs=long_input)
    R.score("t5-prefix-long-score", t5, "t5", "t5-s2s", "t5-prefix_long", {}, inputs=long_input,
            targets=[" ".join(TARGETS), TARGETS[0]])

    # ================= gated-gelu, untied, 2 encoder + 3 decoder layers, 16 buckets, max distance 12 =================
    cfg = T5Config(vocab_size=715, d_model=32, d_kv=8, d_ff=48, num_layers=2, num_decoder_layers=3, num_heads=4,
                   relative_attention_num_buckets=16, relative_attention_max_distance=12, dropout_rate=0.0,
                   feed_forward_proj="gated-gelu", tie_word_embeddings=False, pad_token_id=PAD, eos_token_id=EOS,
                   decoder_start_token_id=PAD)
    t5g = T5ForConditionalGeneration(cfg)
    T.init_weights(t5g, "t5g-x")
    T.save_model(t5g, "t5g-x")
    # layers: encoder 0, 1; decoder 2, 3, 4
    P.add_prefix(t5g, "t5g", "prefix", PrefixTuningConfig(prefix_length=6, bottleneck_size=32), "t5g-prefix")
    P.add_prefix(t5g, "t5g", "prefix_flat", PrefixTuningConfig(prefix_length=8, flat=True, cross_prefix=False),
               "t5g-prefix_flat", std=0.5)
    # every encoder layer left out: the encoder has no prefix (leaving out some layers of a stack fails in 3.2.1)
    P.add_prefix(t5g, "t5g", "prefix_dec", PrefixTuningConfig(prefix_length=7, bottleneck_size=24, leave_out=[0, 1]),
               "t5g-prefix_dec")
    # gates on keys and values apart (shared_gating false)
    P.add_prefix(t5g, "t5g", "prefix_gates", PrefixTuningConfig(prefix_length=5, bottleneck_size=24, use_gating=True,
                                                                shared_gating=False), "t5g-prefix_gates")
    P.add_prefix(t5g, "t5g", "unipelt", unipelt(6, 24), "t5g-unipelt")
    gnames = ("prefix", "prefix_flat", "prefix_dec", "prefix_gates", "unipelt")
    for n in gnames:
        log.append(f"t5g-{n} moves base log-probs by up to {s2s.moved(t5g, R, 't5', 't5g-' + n, {}):.2f}")
    for n in gnames:
        R.generate(f"t5g-{n}-greedy", t5g, "t5", "t5g-x", f"t5g-{n}", G({"num_beams": 1}), inputs=INPUTS)
        R.score(f"t5g-{n}-score", t5g, "t5", "t5g-x", f"t5g-{n}", {}, inputs=INPUTS, targets=TARGETS)
    R.generate("t5g-prefix-beam3", t5g, "t5", "t5g-x", "t5g-prefix", G({"num_beams": 3}))
    R.generate("t5g-prefix_flat-long-greedy", t5g, "t5", "t5g-x", "t5g-prefix_flat",
               {"max_new_tokens": 24, "num_beams": 1}, inputs=long_input)

    verify(R.cases, tok)
    write_json(os.path.join(OUT, "cases.json"), R.cases, indent=None)
    print("\n".join(log))
    print(f"{len(R.cases)} cases")
    for c in R.cases:
        e = c["expected"]
        if "note" in c:
            print(f"  {c['id']}: {c['note']}")
        if isinstance(e, dict) and "token_ids" in e:
            print(f"  {c['id']}: {[len(t) for t in e['token_ids']]} {e['texts'][:2]} {e.get('sequence_scores', '')}")


if __name__ == "__main__":
    main()
