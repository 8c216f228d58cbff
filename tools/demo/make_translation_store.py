"""Trains the demo's English→German translation model and its domain adapters into a store (default:
adapters/): a small BART trained from scratch on general sentence pairs (tools/demo/translation.py), then, on
the frozen model, one AdapterHub adapter per domain (`en-de-sports`, `en-de-legal`) trained on that domain's
pairs — Bapna & Firat's setting. Writes tools/demo/heldout-translation.json (pairs no training set holds)
and prints PyTorch's own scores on it.

    OMP_NUM_THREADS=1 /tmp/ah/python tools/demo/make_translation_store.py [--out adapters] [--quick]
"""
import argparse
import json
import os
import shutil
import sys
import time
from collections import Counter

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "adapterhub"))

import translation as T  # noqa: E402
from make_demo_store import tokenizer_json, train as demo_train  # noqa: E402
from make_madx_distilbert import write_safetensors  # noqa: E402
from transformers import BartConfig, BartForConditionalGeneration  # noqa: E402
from transformers.adapters import PfeifferConfig  # noqa: E402
from transformers.models.bert.tokenization_bert import BasicTokenizer, WordpieceTokenizer  # noqa: E402

torch.set_grad_enabled(True)  # the golden-store module imported above turns gradients off for its own use

MODEL = "demo-bart-en-de"
DOMAINS = ["sports", "legal"]
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]
BOS, PAD, EOS, UNK = 0, 1, 2, 3
MAX_LEN = 40


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


class Tok:
    """Cased WordPiece over whole words of the training text plus every character: the same tokenizer as the
    tokenizer.json written beside the model (what polyhead reads)."""

    def __init__(self, texts):
        self.basic = BasicTokenizer(do_lower_case=False, strip_accents=False)
        counts = Counter(w for t in texts for w in self.basic.tokenize(t))
        chars = sorted({c for w in counts for c in w})
        words = [w for w, _ in counts.most_common() if len(w) > 1]
        self.vocab = list(dict.fromkeys(SPECIALS + chars + ["##" + c for c in chars] + words))
        self.ids = {t: i for i, t in enumerate(self.vocab)}
        self.wp = WordpieceTokenizer(vocab=self.ids, unk_token="<unk>")

    def encode(self, text):
        pieces = [p for w in self.basic.tokenize(text) for p in self.wp.tokenize(w)]
        return [self.ids.get(p, UNK) for p in pieces][: MAX_LEN - 2]

    def decode(self, ids):
        out = []
        for i in ids:
            if i in (BOS, PAD, EOS):
                continue
            t = self.vocab[i]
            if t.startswith("##") and out:
                out[-1] += t[2:]
            else:
                out.append(t)
        s = " ".join(out)
        for p in (".", ",", "?", "!"):
            s = s.replace(" " + p, p)
        return s

    def json(self):
        return tokenizer_json(self.vocab, SPECIALS, "<s>", "</s>", "<unk>", second_type=0)


def batch(tok, rows):
    src = [[BOS] + tok.encode(r["en"]) + [EOS] for r in rows]
    tgt = [tok.encode(r["de"]) + [EOS] for r in rows]
    n, m = max(map(len, src)), max(map(len, tgt))
    ids = torch.tensor([s + [PAD] * (n - len(s)) for s in src])
    labels = torch.tensor([t + [-100] * (m - len(t)) for t in tgt])
    # decoder input: the start token (</s>, as BART), then the target shifted right
    dec = torch.tensor([[EOS] + t[:-1] + [PAD] * (m - len(t)) for t in tgt])
    return {"input_ids": ids, "attention_mask": (ids != PAD).long(), "decoder_input_ids": dec, "labels": labels}


def train(model, params, rows, tok, steps, lr, name):
    demo_train(model, params, rows, steps, lr, 48, name, make_batch=lambda rs: batch(tok, rs), every=200)


def translate(model, tok, texts):
    with torch.no_grad():
        src = [[BOS] + tok.encode(t) + [EOS] for t in texts]
        n = max(map(len, src))
        ids = torch.tensor([s + [PAD] * (n - len(s)) for s in src])
        out = model.generate(input_ids=ids, attention_mask=(ids != PAD).long(), num_beams=1, max_length=MAX_LEN)
    return [tok.decode(o.tolist()) for o in out]


def scores(model, tok, held, domain):
    outs = translate(model, tok, [e["en"] for e in held])
    exact = sum(o == e["de"] for o, e in zip(outs, held))
    amb = [(o, e) for o, e in zip(outs, held) if T.ambiguous_in(e["en"], domain)]
    sense = sum(all(de in o.split(" ") or de + "." in o.split(" ") for de in T.ambiguous_in(e["en"], domain).values()) for o, e in amb)
    return exact, sense, len(amb)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "adapters"))
    ap.add_argument("--quick", action="store_true", help="a few steps each (checks the script, not the quality)")
    ap.add_argument("--seed", type=int, default=21)
    a = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("DEMO_THREADS", "1")))
    torch.manual_seed(a.seed)
    k = 0.02 if a.quick else 1.0
    steps = lambda n: max(5, int(n * k))  # noqa: E731

    n = 600 if a.quick else 30000
    sets = {"general": T.pairs("general", n, a.seed)}
    for i, d in enumerate(DOMAINS):
        sets[d] = T.pairs(d, n // 2, a.seed + 1 + i)
    seen = {e["en"] for xs in sets.values() for e in xs}
    held = {}
    for i, d in enumerate(["general"] + DOMAINS):
        fresh = [e for e in T.pairs(d, 2000, 900 + i) if e["en"] not in seen]
        held[d] = list({e["en"]: e for e in fresh}.values())[:200]
        for e in held[d]:  # the German each domain-dependent word must come out as (what eval.ts checks)
            e["senses"] = list(T.ambiguous_in(e["en"], d).values())
    tok = Tok([e[x] for xs in sets.values() for e in xs for x in ("en", "de")])
    log(f"vocabulary {len(tok.vocab)}; pairs " + ", ".join(f"{d} {len(xs)}" for d, xs in sets.items()))

    config = BartConfig(vocab_size=len(tok.vocab), d_model=128, encoder_layers=3, decoder_layers=3, encoder_attention_heads=4,
                        decoder_attention_heads=4, encoder_ffn_dim=512, decoder_ffn_dim=512, max_position_embeddings=64,
                        dropout=0.1, attention_dropout=0.0, activation_dropout=0.0, pad_token_id=PAD, bos_token_id=BOS,
                        eos_token_id=EOS, decoder_start_token_id=EOS, forced_eos_token_id=EOS, forced_bos_token_id=None,
                        scale_embedding=False, max_length=MAX_LEN, num_beams=1, early_stopping=False, no_repeat_ngram_size=0)
    model = BartForConditionalGeneration(config)
    train(model, list(model.parameters()), sets["general"], tok, steps(int(os.environ.get("DEMO_MT_STEPS", "3000"))), 1e-3, "base")
    # the base weights as trained (adapters added below live in the same modules but not in this copy)
    state = {k: v.detach().clone().float() for k, v in model.state_dict().items() if k != "lm_head.weight"}  # tied to model.shared
    base = scores(model, tok, held["general"], "general")
    log(f"PyTorch base, general held-out: {base[0]}/{len(held['general'])} exact, {base[1]}/{base[2]} domain words right")
    for d in DOMAINS:
        s = scores(model, tok, held[d], d)
        log(f"PyTorch base on {d} held-out: {s[0]}/{len(held[d])} exact, {s[1]}/{s[2]} domain words right")

    for d in DOMAINS:
        name = f"en-de-{d}"
        model.add_adapter(name, config=PfeifferConfig(reduction_factor=2))
        model.train_adapter(name)
        params = [p for p in model.parameters() if p.requires_grad]
        log(f"{name}: {sum(p.numel() for p in params)} trainable parameters")
        train(model, params, sets[d], tok, steps(int(os.environ.get("DEMO_MT_ADAPTER_STEPS", "1500"))), 2e-3, name)
        s = scores(model, tok, held[d], d)
        log(f"PyTorch {name} on {d} held-out: {s[0]}/{len(held[d])} exact, {s[1]}/{s[2]} domain words right")
        model.set_active_adapters(None)

    out = os.path.abspath(a.out)
    mdir = os.path.join(out, "models", MODEL)
    shutil.rmtree(mdir, ignore_errors=True)
    os.makedirs(mdir)
    config.dropout = 0.0
    config.architectures = ["BartForConditionalGeneration"]
    config.to_json_file(os.path.join(mdir, "config.json"))
    cfg = json.load(open(os.path.join(mdir, "config.json")))
    cfg.pop("_name_or_path", None)
    cfg.pop("adapters", None)
    with open(os.path.join(mdir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    write_safetensors(os.path.join(mdir, "model.safetensors"), state)
    with open(os.path.join(mdir, "tokenizer.json"), "w") as f:
        json.dump(tok.json(), f, ensure_ascii=False)
    for d in DOMAINS:
        adir = os.path.join(out, "adapters", f"en-de-{d}")
        shutil.rmtree(adir, ignore_errors=True)
        os.makedirs(adir)
        model.save_adapter(adir, f"en-de-{d}", with_head=False)  # the LM head is the base model's
    if not a.quick:  # a quick run's held-out pairs are another set: the committed one stays
        with open(os.path.join(HERE, "heldout-translation.json"), "w") as f:
            json.dump(held, f, indent=1, ensure_ascii=False)
    log(f"store written to {out}")


if __name__ == "__main__":
    main()
