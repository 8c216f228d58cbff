"""A golden store of prefix-tuned encoder-decoder models, made with the real AdapterHub 3.2.1 library.

Writes test/fixtures/seq2seq-prefix (same layout and cases.json format as test/fixtures/seq2seq): the BART and
mBART models of test/fixtures/seq2seq-extra (copied), with prefix-tuned adapters — the prefix MLP at all three
locations (encoder self-attention, decoder self-attention, decoder cross-attention), a flat prefix on the
decoder's self-attention only (encoder_prefix and cross_prefix false), a longer prefix with a wider MLP, MAM
(prefix tuning + a parallel adapter, as MAMConfig with a smaller prefix MLP) and UniPELT (gated LoRA, prefix tuning
and Pfeiffer adapter, with a smaller prefix MLP) — each with greedy and beam generation and teacher-forced scoring.

    /tmp/ah/python tools/adapterhub/make_seq2seq_prefix.py            # writes test/fixtures/seq2seq-prefix
    /tmp/ah/python tools/adapterhub/make_seq2seq_prefix.py OUT_DIR

The machinery (tokenizer, case runner, reload-and-recompute and float64 checks) is make_seq2seq_extra.py's.
"""

import os
import shutil
import sys
import zlib

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_seq2seq_extra as X  # noqa: E402
from make_madx_distilbert import write_safetensors  # noqa: E402
from transformers.adapters import ConfigUnion, LoRAConfig, ParallelConfig, PfeifferConfig, PrefixTuningConfig  # noqa: E402

EXTRA = os.path.join(X.REPO, "test", "fixtures", "seq2seq-extra")
OUT = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(X.REPO, "test", "fixtures", "seq2seq-prefix")
X.OUT = OUT  # the shared helpers write and reload there


def add_prefix(model, fam, name, config, seed, std=0.1):
    """A prefix-tuned (or union) adapter with seeded noise on all its parameters, saved as .bin and .safetensors."""
    torch.manual_seed(zlib.crc32(seed.encode()))
    model.add_adapter(name, config=config)
    n = X.perturb(model, f"prefix_tunings.{name}.", seed, std)
    for marker in (f"adapters.{name}.", f"loras.{name}.", f"prefix_gates.{name}."):
        try:
            n += X.perturb(model, marker, seed, 0.3)
        except AssertionError:
            pass  # no bottleneck, LoRA or gate part
    d = os.path.join(OUT, "adapters", f"{fam}-{name}")
    os.makedirs(d)
    model.save_adapter(d, name)
    write_safetensors(os.path.join(d, "adapter.safetensors"), torch.load(os.path.join(d, "pytorch_adapter.bin")))
    return n


def main():
    readme = os.path.join(OUT, "README.md")
    kept = open(readme).read() if os.path.exists(readme) else None  # the store's README is written by hand
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    for d in ("models", "adapters", "fusions"):
        os.makedirs(os.path.join(OUT, d))
    if kept is not None:
        with open(readme, "w") as f:
            f.write(kept)
    for m in ("bart-x", "mbart-x"):
        shutil.copytree(os.path.join(EXTRA, "models", m), os.path.join(OUT, "models", m))
    tok = X.Tok(os.path.join(X.FIRST, "models", "bart-s2s", "tokenizer.json"))
    X.check_tokenizer(tok)
    R = X.Runner(tok)
    log = []
    G = lambda o: {"max_new_tokens": 10, **o}  # noqa: E731

    bart = X.load_model("bart-x")
    add_prefix(bart, "bart", "prefix", PrefixTuningConfig(prefix_length=5, bottleneck_size=24), "bart-prefix")
    add_prefix(bart, "bart", "prefix_self", PrefixTuningConfig(prefix_length=4, flat=True, encoder_prefix=False,
                                                                cross_prefix=False), "bart-prefix_self", std=0.5)
    add_prefix(bart, "bart", "prefix_long", PrefixTuningConfig(prefix_length=12, bottleneck_size=48,
                                                                non_linearity="relu"), "bart-prefix_long")
    # MAMConfig with a smaller prefix MLP (its default of 800 makes a 14 MB safetensors file: every attention
    # layer's shim saves its own copy of the pool's weights)
    add_prefix(bart, "bart", "mam", ConfigUnion(PrefixTuningConfig(prefix_length=30, bottleneck_size=64), ParallelConfig()),
               "bart-mam")
    # UniPELT (UniPELTConfig's union: gated LoRA, prefix tuning and Pfeiffer adapter) with a smaller prefix MLP
    add_prefix(bart, "bart", "unipelt", ConfigUnion(LoRAConfig(r=8, use_gating=True),
                                                    PrefixTuningConfig(prefix_length=10, bottleneck_size=32, use_gating=True),
                                                    PfeifferConfig(reduction_factor=16, use_gating=True)), "bart-unipelt")
    log.append(f"bart-unipelt moves base log-probs by up to {X.moved(bart, R, 'bart', 'bart-unipelt', {}):.2f}")
    for n in ("prefix", "prefix_self", "prefix_long", "mam"):
        log.append(f"bart-{n} moves base log-probs by up to {X.moved(bart, R, 'bart', 'bart-' + n, {}):.2f}")
    for n in ("prefix", "prefix_self", "prefix_long", "mam"):
        R.generate(f"bart-{n}-greedy", bart, "bart", "bart-x", f"bart-{n}", G({"num_beams": 1}), inputs=X.INPUTS)
        R.score(f"bart-{n}-score", bart, "bart", "bart-x", f"bart-{n}", {}, inputs=X.INPUTS, targets=X.TARGETS)
    R.generate("bart-prefix-beam4", bart, "bart", "bart-x", "bart-prefix", G({"num_beams": 4}))
    R.generate("bart-mam-beam3", bart, "bart", "bart-x", "bart-mam", G({"num_beams": 3}))
    R.generate("bart-unipelt-greedy", bart, "bart", "bart-x", "bart-unipelt", G({"num_beams": 1}), inputs=X.INPUTS)
    R.generate("bart-unipelt-beam3", bart, "bart", "bart-x", "bart-unipelt", G({"num_beams": 3}))
    R.score("bart-unipelt-score", bart, "bart", "bart-x", "bart-unipelt", {}, inputs=X.INPUTS, targets=X.TARGETS)
    stack = {"stack": ["bart-prefix", "bart-prefix_long"]}
    R.generate("bart-stack-prefixes-greedy", bart, "bart", "bart-x", stack, G({"num_beams": 1}))
    R.score("bart-stack-prefixes-score", bart, "bart", "bart-x", stack, {})

    mbart = X.load_model("mbart-x")
    add_prefix(mbart, "mbart", "prefix", PrefixTuningConfig(prefix_length=6, bottleneck_size=32), "mbart-prefix")
    log.append(f"mbart-prefix moves base log-probs by up to {X.moved(mbart, R, 'mbart', 'mbart-prefix', {}):.2f}")
    M = {"max_new_tokens": 10, "src_lang": "en_XX", "tgt_lang": "de_DE"}
    R.generate("mbart-prefix-greedy", mbart, "mbart", "mbart-x", "mbart-prefix", {**M, "num_beams": 1})
    R.generate("mbart-prefix-beam4", mbart, "mbart", "mbart-x", "mbart-prefix", {**M, "num_beams": 4})
    R.score("mbart-prefix-score", mbart, "mbart", "mbart-x", "mbart-prefix", {"src_lang": "en_XX", "tgt_lang": "de_DE"})

    X.verify(R.cases, tok)
    X.write_json(os.path.join(OUT, "cases.json"), R.cases, indent=None)
    print("\n".join(log))
    print(f"{len(R.cases)} cases")
    for c in R.cases:
        e = c["expected"]
        if "token_ids" in e:
            print(f"  {c['id']}: {e['token_ids']} {e.get('sequence_scores', '')}")


if __name__ == "__main__":
    main()
