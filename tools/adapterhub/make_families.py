"""Golden store for the ALBERT and DeBERTa-v2 families, written by the REAL AdapterHub library.

    <ah-python> tools/adapterhub/make_families.py [OUT_ROOT]      (default OUT_ROOT: test/fixtures)

Writes OUT_ROOT/families-tiny/ (models/, adapters/, fusions/, cases.json): configurations of both
families that the methods store (test/fixtures/families-methods) lacks, so that the general mechanism is
tested, not one configuration. Every number in cases.json is the library's own forward pass (eval mode, no
grad, float32); adapter / head / fusion files are what `save_adapter` / `save_adapter_fusion` wrote, plus
safetensors copies with the same keys. Deterministic: fixed seeds, per-parameter noise generators.
Also writes OUT_ROOT/deberta-buckets/ (transformers' log-bucketed relative positions, for a unit test).

The WordPiece tokenizer files are taken from OUT_ROOT/families-methods/models/albert-m (override with
--tokenizer-from DIR). Helpers (file writers, noise, the case recorder) come from make_madx_distilbert.py.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_madx_distilbert import (  # noqa: E402
    LONG,
    PAIRS,
    TEXTS,
    StoreBuilder,
    add_safetensors_twins,
    differs,
    max_err,
    parse_comp,
    read_safetensors,
    perturb,
    randomize_base,
    write_json,
    write_safetensors,
)

from transformers import AlbertAdapterModel, AlbertConfig, BertTokenizer, DebertaV2AdapterModel, DebertaV2Config  # noqa: E402
from transformers.adapters import (  # noqa: E402
    DynamicAdapterFusionConfig,
    HoulsbyConfig,
    IA3Config,
    LoRAConfig,
    ParallelConfig,
    PfeifferConfig,
    PfeifferInvConfig,
)
from transformers.adapters.composition import Fuse, Stack  # noqa: E402
from transformers.adapters.heads import ClassificationHead  # noqa: E402

torch.set_grad_enabled(False)


class FamilyStore(StoreBuilder):
    """StoreBuilder for several ALBERT / DeBERTa-v2 models in one store."""

    def __init__(self, root, tok_src):
        self.root = root
        if os.path.exists(root):
            shutil.rmtree(root)
        for d in ("models", "adapters", "fusions"):
            os.makedirs(os.path.join(root, d))
        self.tok_src = tok_src
        self.cases = []
        self.fusions = {}
        self.adapters_written = []
        self.folders = {}  # model name -> adapter and fusion folders made for it

    def use_model(self, model_name, kind, config, seed):
        """Build, randomise and save one base model; later adapters and cases belong to it."""
        self.model_name, self.kind, self.seed = model_name, kind, seed
        torch.manual_seed(seed)
        self.model = AlbertAdapterModel(config) if kind == "albert" else DebertaV2AdapterModel(config)
        self.base = self.model.albert if kind == "albert" else self.model.deberta
        randomize_base(self.model, seed)
        self.model.eval()
        self.base_names = {n for n, _ in self.model.named_parameters()}
        self.folders[model_name] = []
        d = os.path.join(self.root, "models", model_name)
        os.makedirs(d)
        with tempfile.TemporaryDirectory() as tmp:
            self.base.save_pretrained(tmp)  # AlbertModel / DebertaV2Model: keys without a model prefix
            shutil.copy(os.path.join(tmp, "config.json"), os.path.join(d, "config.json"))
            sd = torch.load(os.path.join(tmp, "pytorch_model.bin"), map_location="cpu")
        write_safetensors(os.path.join(d, "model.safetensors"), sd)
        for f in ("vocab.txt", "tokenizer.json"):
            shutil.copy(os.path.join(self.tok_src, f), os.path.join(d, f))
        self.tokenizer = BertTokenizer(os.path.join(d, "vocab.txt"), do_lower_case=True)

    def encode(self, inputs, max_length):
        if isinstance(inputs[0], (list, tuple)):
            enc = self.tokenizer([a for a, _ in inputs], [b for _, b in inputs], padding=True, truncation=True,
                                 max_length=max_length, return_tensors="pt")
        else:
            enc = self.tokenizer(list(inputs), padding=True, truncation=True, max_length=max_length,
                                 return_tensors="pt")
        types = self.kind == "albert" or self.model.config.type_vocab_size > 0
        return {k: enc[k] for k in ["input_ids", "attention_mask"] + (["token_type_ids"] if types else [])}

    def save_adapter(self, name, dirname=None):
        d = os.path.join(self.root, "adapters", dirname or name)
        os.makedirs(d)
        self.model.save_adapter(d, name)
        add_safetensors_twins(d)
        self.folders[self.model_name].append(("adapters", dirname or name))

    def save_fusion(self, dirname, adapters):
        super().save_fusion(dirname, adapters)
        self.folders[self.model_name].append(("fusions", dirname))

    def verify(self):
        """Reload every model from its store files (model.safetensors; the library's own load_adapter /
        load_adapter_fusion for the rest) and recompute every case."""
        worst = 0.0
        for model_name, folders in self.folders.items():
            mdir = os.path.join(self.root, "models", model_name)
            with open(os.path.join(mdir, "config.json")) as f:
                kind = json.load(f)["model_type"]
            self.kind = "albert" if kind == "albert" else "deberta"
            self.model = (AlbertAdapterModel(AlbertConfig.from_pretrained(mdir)) if kind == "albert"
                          else DebertaV2AdapterModel(DebertaV2Config.from_pretrained(mdir)))
            base = self.model.albert if kind == "albert" else self.model.deberta
            missing, unexpected = base.load_state_dict(read_safetensors(os.path.join(mdir, "model.safetensors")), strict=False)
            assert not unexpected and all("position_ids" in k for k in missing), (missing, unexpected)
            self.model.eval()
            for where, d in folders:
                if where == "adapters":
                    self.model.load_adapter(os.path.join(self.root, where, d))
                else:
                    self.model.load_adapter_fusion(os.path.join(self.root, where, d))
            for c in [c for c in self.cases if c["model"] == model_name]:
                enc = self.encode(c["inputs"], c["max_length"])
                assert {k: v.tolist() for k, v in enc.items()} == c["tokenized"], c["id"]
                out = self.run(parse_comp(c["composition"]), c["head"], enc,
                               fusion="fuse" in json.dumps(c["composition"] or ""))
                err = max_err(self.expected(out, c["head"]), c["expected"])
                assert err < 1e-5, (c["id"], err)
                worst = max(worst, err)
        print("  round trip from the store files: %d cases, worst error %.1e" % (len(self.cases), worst))


README = """# families-tiny: ALBERT and DeBERTa-v2 golden store

Made by `tools/adapterhub/make_families.py` with the real AdapterHub library (adapter-transformers 3.2.1 on
transformers 4.26.1, PyTorch, float32, eval mode): tiny random base models (`AlbertAdapterModel`,
`DebertaV2AdapterModel`), adapters / heads / fusions added with the library's own API, every adapter, LoRA,
(IA)^3, fusion and head parameter perturbed with seeded noise (fresh adapters are near-identity), then
`save_adapter` / `save_adapter_fusion(with_head=True)` / `save_pretrained` (base model, written here as
`model.safetensors`, keys without a model prefix), plus safetensors copies of every `.bin` with the same keys.
`expected` is the library's own forward output. Tokenizer: the WordPiece `tokenizer.json` / `vocab.txt` of
`families-methods`. Layout and `cases.json` format: as the other golden stores.

Models (configurations the methods store `families-methods` lacks):
- `albert-grouped`: ALBERT, embedding_size 16 -> hidden 48, 4 heads, `num_hidden_layers` 4,
  `num_hidden_groups` 2, `inner_group_num` 2 (4 distinct layer modules, 8 layer passes: steps 0-1 run group 0,
  steps 2-3 group 1), `gelu_new`, token types. Adapters: `a-houlsby` (Houlsby, `leave_out` [1]: the mh adapter
  sees AlbertAttention's swapped arguments), `a-lora` (LoRA r 4 on q/k/v + intermediate + output), `a-tag`
  (Pfeiffer rf 8 + tagging), `a-pool` (Pfeiffer rf 8 + a classification head with `use_pooler`: ALBERT's
  one-Linear pooler, then tanh), `a-sst`, `a-topic` (Pfeiffer) and fusion `a-fusion` of both (fusion attentions of a
  layer run twice are its last run's, as the library's cache keeps them), and `a-lang` (Pfeiffer + NICE
  invertible adapter, embedding_size wide: it acts before the projection to the hidden size) stacked under
  `a-sst`.
- `deberta-v2-unshared`: hidden 32, embedding_size 16 (`embed_proj`), 3 layers, 2 heads, `share_att_key` false
  (`pos_key_proj`, `pos_query_proj`), `pos_att_type` c2p + p2c, no buckets, `max_relative_positions` 6 (distances
  clamp), absolute positions (`position_biased_input`), 2 token types, `norm_rel_ebd` none. Adapters:
  `u-pfeiffer`, `u-lora` (q/k/v), `u-par` (parallel adapter + tagging), `u-topic`, fusion `u-fusion`.
- `deberta-v3-c2p`: hidden 24, 3 heads, `share_att_key` (LoRA and (IA)^3 on the key/query projections reach the
  relative embeddings too), `position_buckets` 8 over `max_relative_positions` 32 (log buckets), `pos_att_type`
  "c2p" (a string, as older configs have it), `norm_rel_ebd` layer_norm, no absolute positions, no token types.
  Adapters: `v-lora` and `v-lora2` (q/k/v + output; two of one shape, so that rows mixing them gather their
  own LoRA weights for the relative embeddings), `v-ia3`, `v-houlsby`, and `v-lang` (Pfeiffer + NICE
  invertible adapter) stacked under `v-houlsby`; inputs up to 25 tokens.
- `deberta-v3-long`: DeBERTa-v3-base's relative setting (`position_buckets` 256 over 512 positions, shared keys,
  p2c + c2p as the string "p2c|c2p") on a tiny model, with a 400-token input.
- `deberta-v2-p2c`: hidden 16, p2c alone (`pos_query_proj`), `position_buckets` 4, `max_relative_positions` -1
  (= max_position_embeddings). Adapter `p-pfeiffer` (rf 2).
- `deberta-v2-norel`: `relative_attention` false with `pos_att_type` p2c + c2p: plain attention scaled by
  1/sqrt(3 x head size), as the library computes it.

Cases: bare models (last_hidden_state), each adapter with its head, text pairs, a stack, fusions with their
attentions, long inputs (up to 400 tokens), MAD-X stacks: 25 in all, atol 1e-4. The generator reloads every model and adapter from
these files into fresh library models and re-checks every case.
"""


def moved(head):
    def chk(sb, enc, out):
        print("    moved %.3f from the bare model + head" % differs(out, sb.run(None, head, enc), head))
    return chk


def build(root, tok_src):
    sb = FamilyStore(root, tok_src)

    # ---- ALBERT: 4 distinct layers in 2 groups of 2, run over 4 steps (8 layer passes), embedding 16 -> 48
    sb.use_model("albert-grouped", "albert", AlbertConfig(
        vocab_size=351, embedding_size=16, hidden_size=48, num_hidden_layers=4, num_hidden_groups=2,
        inner_group_num=2, num_attention_heads=4, intermediate_size=80, hidden_act="gelu_new",
        max_position_embeddings=64, type_vocab_size=2, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
        pad_token_id=0), seed=21)
    m = sb.model
    m.add_adapter("a-houlsby", config=HoulsbyConfig(leave_out=[1]))
    m.add_classification_head("a-houlsby", num_labels=3)
    m.add_adapter("a-lora", config=LoRAConfig(r=4, alpha=8, attn_matrices=["q", "k", "v"], intermediate_lora=True,
                                              output_lora=True))
    m.add_classification_head("a-lora", num_labels=2, layers=1)
    m.add_adapter("a-tag", config=PfeifferConfig(reduction_factor=8))
    m.add_tagging_head("a-tag", num_labels=5)
    m.add_adapter("a-pool", config=PfeifferConfig(reduction_factor=8))
    # the library's ALBERT has no use_pooler argument, but its heads get the pooled output
    m.add_prediction_head(ClassificationHead(m, "a-pool", num_labels=2, use_pooler=True))
    m.add_adapter("a-lang", config=PfeifferInvConfig())  # its NICE block is embedding_size (16) wide
    m.add_adapter("a-sst", config=PfeifferConfig())
    m.add_classification_head("a-sst", num_labels=2)
    m.add_adapter("a-topic", config=PfeifferConfig(reduction_factor=4))
    m.add_classification_head("a-topic", num_labels=4)
    m.add_adapter_fusion(Fuse("a-sst", "a-topic"), DynamicAdapterFusionConfig())
    m.add_classification_head("a-sst,a-topic", num_labels=2)
    perturb(m, sb.base_names, sb.seed)
    for n in ["a-houlsby", "a-lora", "a-tag", "a-pool", "a-lang", "a-sst", "a-topic"]:
        sb.save_adapter(n)
    sb.save_fusion("a-fusion", ["a-sst", "a-topic"])
    sb.case("albert-base-only", None, None)
    sb.case("albert-houlsby-leave-out", "a-houlsby", "a-houlsby", check=moved("a-houlsby"))
    sb.case("albert-lora-qkv-ffn", "a-lora", "a-lora", check=moved("a-lora"))
    sb.case("albert-lora-pairs", "a-lora", "a-lora", inputs=PAIRS)
    sb.case("albert-tagging", "a-tag", "a-tag", check=moved("a-tag"))
    sb.case("albert-pooler-head", "a-pool", "a-pool", check=moved("a-pool"))
    sb.case("albert-stack", Stack("a-topic", "a-sst"), "a-sst")
    sb.case("albert-madx", Stack("a-lang", "a-sst"), "a-sst", check=lambda s_, enc, out: print(
        "    moved %.3f from the task adapter alone" % differs(out, s_.run("a-sst", "a-sst", enc), "madx")))
    sb.case("albert-fusion", Fuse("a-sst", "a-topic"), "a-sst,a-topic", fusion=True)

    # ---- DeBERTa-v2 with its own position projections (share_att_key false), no buckets
    # (distances clamp at max_relative_positions 6), absolute positions and token types as well, tokens
    # embedded at 16 and projected (embed_proj), relative embeddings not normalised
    sb.use_model("deberta-v2-unshared", "deberta", DebertaV2Config(
        vocab_size=351, hidden_size=32, embedding_size=16, num_hidden_layers=3, num_attention_heads=2,
        intermediate_size=48, hidden_act="gelu", max_position_embeddings=64, type_vocab_size=2,
        relative_attention=True, max_relative_positions=6, position_buckets=-1, position_biased_input=True,
        pos_att_type=["c2p", "p2c"], share_att_key=False, norm_rel_ebd="none", hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0, pad_token_id=0), seed=22)
    m = sb.model
    m.add_adapter("u-pfeiffer", config=PfeifferConfig())
    m.add_classification_head("u-pfeiffer", num_labels=3)
    m.add_adapter("u-lora", config=LoRAConfig(r=2, alpha=4, attn_matrices=["q", "k", "v"]))
    m.add_classification_head("u-lora", num_labels=2)
    m.add_adapter("u-par", config=ParallelConfig())
    m.add_tagging_head("u-par", num_labels=4)
    m.add_adapter("u-topic", config=PfeifferConfig(reduction_factor=8))
    m.add_classification_head("u-topic", num_labels=2)
    m.add_adapter_fusion(Fuse("u-pfeiffer", "u-topic"), DynamicAdapterFusionConfig())
    m.add_classification_head("u-pfeiffer,u-topic", num_labels=2)
    perturb(m, sb.base_names, sb.seed)
    for n in ["u-pfeiffer", "u-lora", "u-par", "u-topic"]:
        sb.save_adapter(n)
    sb.save_fusion("u-fusion", ["u-pfeiffer", "u-topic"])
    sb.case("deberta-unshared-base-only", None, None)
    sb.case("deberta-unshared-pfeiffer", "u-pfeiffer", "u-pfeiffer", check=moved("u-pfeiffer"))
    sb.case("deberta-unshared-long", "u-pfeiffer", "u-pfeiffer", inputs=[LONG, TEXTS[0]], max_length=40)
    sb.case("deberta-unshared-lora", "u-lora", "u-lora", check=moved("u-lora"))
    sb.case("deberta-unshared-lora-pairs", "u-lora", "u-lora", inputs=PAIRS)
    sb.case("deberta-unshared-parallel-tagging", "u-par", "u-par", check=moved("u-par"))
    sb.case("deberta-unshared-fusion", Fuse("u-pfeiffer", "u-topic"), "u-pfeiffer,u-topic", fusion=True)

    # ---- DeBERTa-v3 style with shared keys (LoRA and (IA)^3 reach the position projections through the
    # layer's own query/key projections), log buckets 8 over max_relative_positions 32, c2p only, given as a
    # string, relative embeddings LayerNormed, no absolute positions, no token types
    sb.use_model("deberta-v3-c2p", "deberta", DebertaV2Config(
        vocab_size=351, hidden_size=24, num_hidden_layers=2, num_attention_heads=3, intermediate_size=40,
        hidden_act="gelu", max_position_embeddings=64, type_vocab_size=0, relative_attention=True,
        max_relative_positions=32, position_buckets=8, position_biased_input=False, pos_att_type="c2p",
        share_att_key=True, norm_rel_ebd="layer_norm", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
        pad_token_id=0), seed=23)
    m = sb.model
    m.add_adapter("v-lora", config=LoRAConfig(r=4, alpha=4, attn_matrices=["q", "k", "v"], output_lora=True))
    m.add_classification_head("v-lora", num_labels=3)
    m.add_adapter("v-lora2", config=LoRAConfig(r=4, alpha=4, attn_matrices=["q", "k", "v"], output_lora=True))
    m.add_classification_head("v-lora2", num_labels=3)
    m.add_adapter("v-ia3", config=IA3Config())
    m.add_classification_head("v-ia3", num_labels=2)
    m.add_adapter("v-houlsby", config=HoulsbyConfig(reduction_factor=4))
    m.add_adapter("v-lang", config=PfeifferInvConfig(reduction_factor=4))
    m.add_classification_head("v-houlsby", num_labels=2, layers=1)
    perturb(m, sb.base_names, sb.seed)
    for n in ["v-lora", "v-lora2", "v-ia3", "v-houlsby", "v-lang"]:
        sb.save_adapter(n)
    sb.case("deberta-v3-base-only", None, None, inputs=[LONG, TEXTS[1]], max_length=48)
    sb.case("deberta-v3-lora-shared-keys", "v-lora", "v-lora", inputs=[LONG] + TEXTS, max_length=48,
            check=moved("v-lora"))
    sb.case("deberta-v3-lora2", "v-lora2", "v-lora2", inputs=[LONG] + TEXTS, max_length=48, check=moved("v-lora2"))
    sb.case("deberta-v3-ia3", "v-ia3", "v-ia3", inputs=[LONG] + TEXTS, max_length=48, check=moved("v-ia3"))
    sb.case("deberta-v3-houlsby", "v-houlsby", "v-houlsby", inputs=[LONG] + TEXTS, max_length=48,
            check=moved("v-houlsby"))
    sb.case("deberta-v3-madx", Stack("v-lang", "v-houlsby"), "v-houlsby", inputs=[LONG] + TEXTS, max_length=48,
            check=lambda s_, enc, out: print("    moved %.3f from the task adapter alone" % differs(
                out, s_.run("v-houlsby", "v-houlsby", enc), "madx")))

    # ---- DeBERTa-v3-base's own relative setting (256 buckets over 512 positions, shared keys, p2c + c2p) on a
    # tiny model, with a long input: distances far into the log buckets
    sb.use_model("deberta-v3-long", "deberta", DebertaV2Config(
        vocab_size=351, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
        hidden_act="gelu", max_position_embeddings=512, type_vocab_size=0, relative_attention=True,
        max_relative_positions=-1, position_buckets=256, position_biased_input=False, pos_att_type="p2c|c2p",
        share_att_key=True, norm_rel_ebd="layer_norm", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
        pad_token_id=0), seed=26)
    m = sb.model
    m.add_adapter("l-pfeiffer", config=PfeifferConfig())
    m.add_classification_head("l-pfeiffer", num_labels=2)
    perturb(m, sb.base_names, sb.seed)
    sb.save_adapter("l-pfeiffer")
    sb.case("deberta-v3-long-input", "l-pfeiffer", "l-pfeiffer", inputs=[" ".join([LONG] * 16), TEXTS[2]],
            max_length=400, check=moved("l-pfeiffer"))

    # ---- DeBERTa-v2 with p2c alone (its own pos_query_proj), log buckets 4 over 64 positions
    sb.use_model("deberta-v2-p2c", "deberta", DebertaV2Config(
        vocab_size=351, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
        hidden_act="gelu", max_position_embeddings=64, type_vocab_size=0, relative_attention=True,
        max_relative_positions=-1, position_buckets=4, position_biased_input=False, pos_att_type=["p2c"],
        share_att_key=False, norm_rel_ebd="layer_norm", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
        pad_token_id=0), seed=24)
    m = sb.model
    m.add_adapter("p-pfeiffer", config=PfeifferConfig(reduction_factor=2))
    m.add_classification_head("p-pfeiffer", num_labels=2)
    perturb(m, sb.base_names, sb.seed)
    sb.save_adapter("p-pfeiffer")
    sb.case("deberta-p2c-pfeiffer", "p-pfeiffer", "p-pfeiffer", inputs=[LONG] + TEXTS, max_length=48,
            check=moved("p-pfeiffer"))

    # ---- DeBERTa-v2 without relative attention: plain attention scaled by sqrt(3 x head size), as the
    # library still counts pos_att_type
    sb.use_model("deberta-v2-norel", "deberta", DebertaV2Config(
        vocab_size=351, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
        hidden_act="gelu", max_position_embeddings=64, type_vocab_size=0, relative_attention=False,
        pos_att_type=["p2c", "c2p"], position_biased_input=True, hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0, pad_token_id=0), seed=25)
    sb.case("deberta-norel-base-only", None, None)

    sb.write_cases()
    with open(os.path.join(root, "README.md"), "w") as f:
        f.write(README)
    sb.verify()
    return sb


BUCKET_CONFIGS = [(256, 512, 512), (16, 64, 64), (8, 32, 64), (4, 64, 64), (32, 128, 300), (2, 10, 40), (3, 100, 100)]


def write_buckets(root):
    """transformers' DeBERTa-v2 relative positions (log buckets) for every distance of a few configurations."""
    from transformers.models.deberta_v2.modeling_deberta_v2 import build_relative_position
    if os.path.exists(root):
        shutil.rmtree(root)
    os.makedirs(root)
    tables = []
    for bucket, max_position, length in BUCKET_CONFIGS:
        r = build_relative_position(length, length, bucket_size=bucket, max_position=max_position)[0]
        # row length-1 holds distances length-1 .. 0, row 0 holds 0 .. -(length-1)
        by = {}
        for j in range(length):
            by[length - 1 - j] = int(r[length - 1, j])
            by[-j] = int(r[0, j])
        tables.append({"position_buckets": bucket, "max_relative_positions": max_position, "length": length,
                       "buckets": [by[d] for d in range(-(length - 1), length)]})
    with open(os.path.join(root, "buckets.json"), "w") as f:
        json.dump(tables, f)
    with open(os.path.join(root, "README.md"), "w") as f:
        f.write("# deberta-buckets: DeBERTa-v2's log-bucketed relative positions\n\n"
                "Written by `tools/adapterhub/make_families.py` with transformers 4.26.1 (the version AdapterHub 3.2.1\n"
                "pins): `build_relative_position(length, length, bucket_size, max_position)` for each configuration in\n"
                "`buckets.json`, listed by distance i - j from -(length - 1) to length - 1.\n"
                "`test/unit/families/deberta-v2.test.ts` checks polyhead's bucketing against every entry.\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_root", nargs="?", default=os.path.join(os.path.dirname(__file__), "../../test/fixtures"))
    ap.add_argument("--tokenizer-from", default=None)
    a = ap.parse_args()
    tok = a.tokenizer_from or os.path.join(a.out_root, "families-methods/models/albert-m")
    root = os.path.join(a.out_root, "families-tiny")
    sb = build(root, tok)
    print("%d cases in %s" % (len(sb.cases), root))
    write_buckets(os.path.join(a.out_root, "deberta-buckets"))


if __name__ == "__main__":
    main()
