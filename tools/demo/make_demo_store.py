"""Trains the demo store that `npm start` serves: a small BERT pre-trained from scratch (masked language
modelling) on generated everyday English, then AdapterHub adapters with their heads on it — sentiment, topic,
ner, qa — and an AdapterFusion of sentiment and topic. Writes the store (default: adapters/) and the held-out
evaluation set (tools/demo/heldout.json) that `npm run demo:eval` scores through the server.

Run with the reference library (tools/adapterhub/README.md: AdapterHub 3.2.1 on Debian's PyTorch):

    /tmp/ah/python tools/demo/make_demo_store.py [--out adapters] [--quick]

Deterministic for a given torch build (seeds fixed, DEMO_THREADS=1). About 80 min on one core.
"""
import argparse
import json
import os
import random
import shutil
import sys
import time
from collections import Counter

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "adapterhub"))

import data  # noqa: E402
from make_madx_distilbert import write_safetensors  # noqa: E402
from transformers import BertConfig, BertForMaskedLM, BertTokenizer  # noqa: E402
from transformers.adapters import BertAdapterModel, Fuse, HoulsbyConfig, PfeifferConfig  # noqa: E402

torch.set_grad_enabled(True)  # the golden-store module imported above turns gradients off for its own use

MODEL = "demo-bert"
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
LABELS = {
    "sentiment": ["negative", "positive"],
    "topic": data.TOPICS,
    "ner": ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"],
}


# Each task's adapter: training steps (DEMO_STEPS_<TASK>) and configuration (DEMO_ADAPTER_<TASK>, kind:reduction
# factor, e.g. houlsby:1 for adapters after attention too). Sentiment's wider bottleneck (256) did better on the
# development set (tools/demo/README.md).
ADAPTERS = {"sentiment": (2000, "pfeiffer:0.5"), "topic": (800, "pfeiffer:2"), "ner": (2000, "pfeiffer:2"), "qa": (6000, "pfeiffer:2")}


def adapter_config(task):
    kind, rf = os.environ.get("DEMO_ADAPTER_" + task.upper(), ADAPTERS[task][1]).split(":")
    return {"pfeiffer": PfeifferConfig, "houlsby": HoulsbyConfig}[kind](reduction_factor=float(rf))


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


# ----------------------------------------------------------------------------- tokenizer

def build_vocab(sentences, folder):
    """Whole words of the training text, plus every character alone and as a continuation, so any word
    tokenizes (unknown names fall apart into characters, which is how the tagger learns to see them)."""
    from transformers.models.bert.tokenization_bert import BasicTokenizer

    basic = BasicTokenizer(do_lower_case=False, strip_accents=False)
    counts = Counter(w for s in sentences for w in basic.tokenize(s))
    chars = sorted({c for w in counts for c in w} | set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:!?'\"()-$%&/"))
    # Names, places and organisations are left out (unless also everyday words: "May", "Bank"), so every name
    # falls apart into characters, in training as in use: the tagger and the reader learn what a name looks
    # like in context, not a list of names (a held-out name would otherwise be the only one in pieces).
    # (only their capitalised words: "and" of "Trinidad and Tobago" is everybody's word)
    entities = {w for part in data.NAMES["all"] for x in part for w in x.split() if not w[0].islower()}
    words = [w for w, n in counts.most_common() if len(w) > 1 and (w not in entities or w.lower() in data.EVERYDAY)]
    vocab = SPECIALS + chars + ["##" + c for c in chars] + words
    vocab = list(dict.fromkeys(vocab))
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "vocab.txt"), "w") as f:
        f.write("\n".join(vocab) + "\n")
    return vocab


def tokenizer_json(vocab, specials=SPECIALS, first="[CLS]", last="[SEP]", unk="[UNK]", second_type=1):
    """The same cased WordPiece tokenizer as tokenizer.json (what polyhead reads): `first` A `last` (B `last`),
    segment B with token type `second_type`."""
    ids = {t: i for i, t in enumerate(vocab)}
    special = lambda t: {"id": ids[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}  # noqa: E731
    tok = lambda t, type_id: {"SpecialToken": {"id": t, "type_id": type_id}}  # noqa: E731
    seq = lambda s, type_id: {"Sequence": {"id": s, "type_id": type_id}}  # noqa: E731
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [special(t) for t in specials],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": False, "lowercase": False},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [tok(first, 0), seq("A", 0), tok(last, 0)],
            "pair": [tok(first, 0), seq("A", 0), tok(last, 0), seq("B", second_type), tok(last, second_type)],
            "special_tokens": {t: {"id": t, "ids": [ids[t]], "tokens": [t]} for t in (first, last)},
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": unk, "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": ids},
    }


# ----------------------------------------------------------------------------- batches

def pad(rows, key, value):
    n = max(len(r[key]) for r in rows)
    return torch.tensor([r[key] + [value] * (n - len(r[key])) for r in rows])


def encode_text(tok, text, pair=None, max_len=128):
    e = tok(text, pair, truncation=True, max_length=max_len)
    return {"input_ids": e["input_ids"], "token_type_ids": e["token_type_ids"], "attention_mask": e["attention_mask"]}


def encode_ner(tok, ex, tag_ids):
    """Tags per word piece: the word's tag on its first piece, its I- tag on the others (so the tagger's
    answer is the same whichever piece is read)."""
    ids, tags = [tok.cls_token_id], [-100]
    for w, t in zip(ex["tokens"], ex["tags"]):
        pieces = tok.convert_tokens_to_ids(tok.tokenize(w)) or [tok.unk_token_id]
        ids += pieces
        inside = "I-" + t[2:] if t != "O" else "O"
        tags += [tag_ids[t]] + [tag_ids[inside]] * (len(pieces) - 1)
    ids.append(tok.sep_token_id)
    tags.append(-100)
    return {"input_ids": ids, "token_type_ids": [0] * len(ids), "attention_mask": [1] * len(ids), "labels": tags}


def encode_qa(tok, ex):
    """Start and end token of the answer in [CLS] question [SEP] context [SEP], found by character offsets."""
    q = tok.tokenize(ex["question"])
    ctx = ex["context"]
    start, end = ex["start"], ex["start"] + len(ex["answer"])
    # tokenize the context word by word, remembering each piece's character span
    from transformers.models.bert.tokenization_bert import BasicTokenizer

    pieces, spans, at = [], [], 0
    for w in BasicTokenizer(do_lower_case=False, strip_accents=False).tokenize(ctx):
        at = ctx.index(w, at)
        for p in tok.wordpiece_tokenizer.tokenize(w):
            pieces.append(p)
            spans.append((at, at + len(w)))
        at += len(w)
    ids = [tok.cls_token_id] + tok.convert_tokens_to_ids(q) + [tok.sep_token_id]
    offset = len(ids)
    ids += tok.convert_tokens_to_ids(pieces) + [tok.sep_token_id]
    types = [0] * offset + [1] * (len(ids) - offset)
    s = next(i for i, (a, b) in enumerate(spans) if a <= start < b)
    e = max(i for i, (a, b) in enumerate(spans) if a < end)
    return {"input_ids": ids, "token_type_ids": types, "attention_mask": [1] * len(ids), "start_positions": s + offset, "end_positions": e + offset}


def collate(rows):
    out = {"input_ids": pad(rows, "input_ids", 0), "token_type_ids": pad(rows, "token_type_ids", 0), "attention_mask": pad(rows, "attention_mask", 0)}
    if "labels" in rows[0]:
        out["labels"] = pad(rows, "labels", -100) if isinstance(rows[0]["labels"], list) else torch.tensor([r["labels"] for r in rows])
    if "start_positions" in rows[0]:
        out["start_positions"] = torch.tensor([r["start_positions"] for r in rows])
        out["end_positions"] = torch.tensor([r["end_positions"] for r in rows])
    return out


def train(model, params, rows, steps, lr, batch, name, step_fn=None, make_batch=None, every=100, draw=0):
    """AdamW with warm-up and linear decay over random batches of rows (collated by make_batch, default
    collate); the loss from step_fn, or the model's own."""
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / (steps * 0.06)) * max(0.0, 1 - s / steps))
    r = random.Random(len(rows) + 1_000_003 * draw)
    model.train()
    t0, avg = time.time(), None
    for step in range(steps):
        b = (make_batch or collate)(r.sample(rows, batch))
        loss = step_fn(model, b) if step_fn else model(**b).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        avg = loss.item() if avg is None else 0.98 * avg + 0.02 * loss.item()
        if step % every == 0 or step == steps - 1:
            log(f"  {name} step {step + 1}/{steps} loss {avg:.3f} ({time.time() - t0:.0f} s)")
    model.eval()


# ----------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "adapters"))
    ap.add_argument("--work", default=os.path.join("/tmp", "polyhead-demo-work"))
    ap.add_argument("--quick", action="store_true", help="a few steps each (checks the script, not the accuracy)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--reuse-base", action="store_true", help="keep the pre-trained model already in --work (train only the adapters again)")
    ap.add_argument("--draw", type=int, default=0, help="another draw of the adapters' initial weights and batch order (same data), to pick one on the development set; 0: the default run")
    ap.add_argument("--only", default="", help="comma-separated tasks to train again into an existing --out store (with --reuse-base); the others are loaded from it, and the fusion is trained again")
    a = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("DEMO_THREADS", "1")))
    torch.manual_seed(a.seed)
    random.seed(a.seed)
    k = 0.02 if a.quick else 1.0
    steps = lambda n: max(5, int(n * k))  # noqa: E731

    # data
    n = 600 if a.quick else int(os.environ.get("DEMO_EXAMPLES", "20000"))
    sets = {t: data.examples(t, "train", n, a.seed + i) for i, t in enumerate(data.TASKS)}
    qa_pairs = [(e["question"], e["context"]) for e in sets["qa"]]
    # the pre-training text: only a run that pre-trains needs it (its vocabulary too)
    corpus = [] if a.reuse_base else data.corpus(n // 2, a.seed + 100)

    work = os.path.abspath(a.work)
    if not a.reuse_base:
        shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work, exist_ok=True)
    # a reused base keeps its own vocabulary: one rebuilt from today's data would number its words differently
    vocab_dir = os.path.join(work, "base" if a.reuse_base else "tok")
    if a.reuse_base:
        with open(os.path.join(vocab_dir, "vocab.txt")) as f:
            vocab = f.read().splitlines()
    else:
        vocab = build_vocab(corpus + [q for q, _ in qa_pairs], vocab_dir)
    tok = BertTokenizer(os.path.join(vocab_dir, "vocab.txt"), do_lower_case=False, strip_accents=False)
    log(f"vocabulary {len(vocab)} tokens" + (f"; corpus {len(corpus)} sentences" if corpus else ""))

    # 1. the base model, pre-trained from scratch
    config = BertConfig(vocab_size=len(vocab), hidden_size=128, num_hidden_layers=4, num_attention_heads=4, intermediate_size=512,
                        max_position_embeddings=128, type_vocab_size=2, pad_token_id=0)
    mlm = BertForMaskedLM(config)
    special = torch.tensor([tok.cls_token_id, tok.sep_token_id, tok.pad_token_id])

    def mlm_step(model, b):
        ids = b["input_ids"].clone()
        labels = ids.clone()
        can = ~torch.isin(ids, special)
        chosen = (torch.rand(ids.shape) < 0.15) & can
        labels[~chosen] = -100
        roll = torch.rand(ids.shape)
        ids[chosen & (roll < 0.8)] = tok.mask_token_id
        rnd = chosen & (roll >= 0.8) & (roll < 0.9)
        ids[rnd] = torch.randint(len(SPECIALS), len(vocab), (int(rnd.sum()),))
        # the vocabulary projection only at the masked positions (most of an MLM step's time otherwise)
        hidden = model.bert(input_ids=ids, token_type_ids=b["token_type_ids"], attention_mask=b["attention_mask"])[0]
        sel = labels != -100
        return torch.nn.functional.cross_entropy(model.cls(hidden[sel]), labels[sel])

    tag_ids = {t: i for i, t in enumerate(LABELS["ner"])}
    encoded = {
        "sentiment": [dict(encode_text(tok, e["text"]), labels=LABELS["sentiment"].index(e["label"])) for e in sets["sentiment"]],
        "topic": [dict(encode_text(tok, e["text"]), labels=LABELS["topic"].index(e["label"])) for e in sets["topic"]],
        "ner": [encode_ner(tok, e, tag_ids) for e in sets["ner"]],
        "qa": [encode_qa(tok, e) for e in sets["qa"]],
    }
    # names fall apart into characters: the few examples longer than the model's 128 positions are left out
    encoded = {t: [x for x in xs if len(x["input_ids"]) <= config.max_position_embeddings] for t, xs in encoded.items()}
    log("examples: " + ", ".join(f"{t} {len(xs)}" for t, xs in encoded.items()))

    # Pre-training mixes masked language modelling with the four tasks (multi-task pre-training, with heads
    # of its own that are thrown away): a small model trained from scratch on generated text learns from
    # MLM alone too little of what the words mean for frozen-base adapters to reach the target in the
    # CPU time we have. "names" is NER on names the sentence says nothing about (data.name_examples): a held-out
    # name is only its letters, and a base that never had to tell a person from an organisation by the letters
    # alone gives the NER adapter little to go on. DEMO_BASE_MIX="mlm:1" gives plain MLM pre-training.
    hidden = config.hidden_size
    pre_heads = torch.nn.ModuleDict({"sentiment": torch.nn.Linear(hidden, 2), "topic": torch.nn.Linear(hidden, len(LABELS["topic"])),
                                     "ner": torch.nn.Linear(hidden, len(LABELS["ner"])), "qa": torch.nn.Linear(hidden, 2)})
    ce = torch.nn.functional.cross_entropy

    def task_step(model, b, task):
        h = model.bert(input_ids=b["input_ids"], token_type_ids=b["token_type_ids"], attention_mask=b["attention_mask"])[0]
        if task in ("sentiment", "topic"):
            return ce(pre_heads[task](h[:, 0]), b["labels"])
        if task in ("ner", "names"):
            return ce(pre_heads["ner"](h).flatten(0, 1), b["labels"].flatten(), ignore_index=-100)
        logits = pre_heads["qa"](h).masked_fill((b["attention_mask"] == 0).unsqueeze(-1), -1e4)
        return (ce(logits[..., 0], b["start_positions"]) + ce(logits[..., 1], b["end_positions"])) / 2

    base_dir = os.path.join(work, "base")
    if not a.reuse_base:
        rows = [encode_text(tok, s) for s in corpus] + [encode_text(tok, q, c) for q, c in qa_pairs]
        mix = [(t, int(w)) for t, w in (x.split(":") for x in os.environ.get("DEMO_BASE_MIX", "mlm:5,sentiment:2,topic:2,ner:2,qa:3,names:2").split(","))]
        if "names" in dict(mix):  # tagged with NER's head
            encoded["names"] = [encode_ner(tok, e, tag_ids) for e in data.name_examples(n, a.seed + 50)]
        cycle = [t for t, w in mix for _ in range(w)]
        random.Random(a.seed).shuffle(cycle)
        n_steps = steps(int(os.environ.get("DEMO_BASE_STEPS", "11500")))
        params = list(mlm.parameters()) + list(pre_heads.parameters())
        opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.01)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / (n_steps * 0.06)) * max(0.0, 1 - s / n_steps))
        r = random.Random(a.seed + 7)
        mlm.train()
        t0, avg = time.time(), {}
        for step in range(n_steps):
            task = cycle[step % len(cycle)]
            b = collate(r.sample(rows if task == "mlm" else encoded[task], 32))
            loss = mlm_step(mlm, b) if task == "mlm" else task_step(mlm, b, task)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            avg[task] = loss.item() if task not in avg else 0.95 * avg[task] + 0.05 * loss.item()
            if step % 200 == 0 or step == n_steps - 1:
                log(f"  base step {step + 1}/{n_steps} " + " ".join(f"{k} {v:.3f}" for k, v in avg.items()) + f" ({time.time() - t0:.0f} s)")
        mlm.eval()
        mlm.save_pretrained(base_dir)
        tok.save_pretrained(base_dir)

    # 2. one adapter and head per task on the frozen model
    model = BertAdapterModel.from_pretrained(base_dir)
    budget = {t: int(os.environ.get("DEMO_STEPS_" + t.upper(), d)) for t, (d, _) in ADAPTERS.items()}
    out = os.path.abspath(a.out)
    tasks = [t for t in a.only.split(",") if t] or list(ADAPTERS)
    if "ner" in tasks:
        # NER's training has the same sentences about names as the base's (a share of its own number,
        # DEMO_NER_NAMES), so that the adapter learns to trust a name
        extra = int(len(encoded["ner"]) * float(os.environ.get("DEMO_NER_NAMES", "0.4")))
        encoded["ner"] = encoded["ner"] + [encode_ner(tok, e, tag_ids) for e in data.name_examples(extra, a.seed + 51)]
    for task in ADAPTERS:
        if task not in tasks:
            model.load_adapter(os.path.join(out, "adapters", task), with_head=True)
    for i, task in enumerate(tasks):
        if a.draw:
            torch.manual_seed(a.seed + 1000 * a.draw + i)
        model.add_adapter(task, config=adapter_config(task))
        if task in ("sentiment", "topic"):
            model.add_classification_head(task, num_labels=len(LABELS[task]), id2label=dict(enumerate(LABELS[task])))
        elif task == "ner":
            model.add_tagging_head(task, num_labels=len(LABELS["ner"]), id2label=dict(enumerate(LABELS["ner"])))
        else:
            model.add_qa_head(task, num_labels=2)
        model.train_adapter(task)
        model.active_head = task
        params = [p for p in model.parameters() if p.requires_grad]
        log(f"{task}: {sum(p.numel() for p in params)} trainable parameters")
        train(model, params, encoded[task], steps(budget[task]), 2e-3, 32, task, draw=a.draw)

    # 3. AdapterFusion of sentiment and topic, with a sentiment head of its own
    fusion = Fuse("sentiment", "topic")
    model.add_adapter_fusion(fusion)
    fname = "sentiment,topic"
    model.add_classification_head(fname, num_labels=2, id2label=dict(enumerate(LABELS["sentiment"])))
    model.train_adapter_fusion(fusion)
    model.active_head = fname
    params = [p for p in model.parameters() if p.requires_grad]
    train(model, params, encoded["sentiment"], steps(int(os.environ.get("DEMO_STEPS_FUSION", "300"))), 1e-3, 32, "fusion")

    # 4. the store
    if not a.only:
        shutil.rmtree(out, ignore_errors=True)
    mdir = os.path.join(out, "models", MODEL)
    for d in (mdir, os.path.join(out, "adapters"), os.path.join(out, "fusions")):
        os.makedirs(d, exist_ok=True)
    config.architectures = ["BertModel"]
    config.to_json_file(os.path.join(mdir, "config.json"))
    state = {k: v for k, v in model.base_model.state_dict().items() if "adapter" not in k}
    write_safetensors(os.path.join(mdir, "model.safetensors"), {k: v.float() for k, v in state.items()})
    with open(os.path.join(mdir, "tokenizer.json"), "w") as f:
        json.dump(tokenizer_json(vocab), f, ensure_ascii=False)
    for task in tasks:
        model.save_adapter(os.path.join(out, "adapters", task), task, with_head=True)
    fdir = os.path.join(out, "fusions", "sentiment-fusion")
    model.save_adapter_fusion(fdir, fname, with_head=True)
    with open(os.path.join(fdir, "fusion.json"), "w") as f:
        json.dump({"adapters": ["sentiment", "topic"]}, f)
    log(f"store written to {out}")

    # 5. held-out sentences, and PyTorch's own accuracy on them (the server's is measured by npm run demo:eval)
    # (a short held-out sentence can come out the same as a training one, "Not bad at all.": those are left out)
    key = lambda e: e.get("text") or " ".join(e.get("tokens", [])) or e["question"] + " " + e["context"]  # noqa: E731
    seen = {t: {key(e) for e in sets[t]} for t in data.TASKS}
    held = {t: [e for e in data.examples(t, "heldout", 300, 1000 + i) if key(e) not in seen[t]][:200] for i, t in enumerate(data.TASKS)}
    if not a.quick:  # a quick run's held-out examples are another set: the committed one stays
        with open(os.path.join(HERE, "heldout.json"), "w") as f:
            json.dump(held, f, indent=1, ensure_ascii=False)
    model.eval()
    with torch.no_grad():
        for task in ["sentiment", "topic"]:
            model.set_active_adapters(task)
            model.active_head = task
            ok = 0
            for e in held[task]:
                b = collate([encode_text(tok, e["text"])])
                ok += LABELS[task][int(model(**b).logits.argmax(-1))] == e["label"]
            log(f"PyTorch {task}: {ok}/{len(held[task])}")
        model.set_active_adapters("ner")
        model.active_head = "ner"
        ok = 0
        for e in held["ner"]:
            b = collate([encode_ner(tok, e, tag_ids)])
            if b["input_ids"].shape[1] > config.max_position_embeddings:
                continue  # longer than the model takes: counted wrong
            pred = model(input_ids=b["input_ids"], token_type_ids=b["token_type_ids"], attention_mask=b["attention_mask"]).logits.argmax(-1)
            keep = b["labels"] != -100
            ok += bool((pred[keep] == b["labels"][keep]).all())
        log(f"PyTorch ner (every tag of the sentence right): {ok}/{len(held['ner'])}")
        model.set_active_adapters("qa")
        model.active_head = "qa"
        ok = 0
        for e in held["qa"]:
            b = collate([encode_qa(tok, e)])
            if b["input_ids"].shape[1] > config.max_position_embeddings:
                continue  # longer than the model takes: counted wrong
            out = model(input_ids=b["input_ids"], token_type_ids=b["token_type_ids"], attention_mask=b["attention_mask"])
            s, en = int(out.start_logits.argmax()), int(out.end_logits.argmax())
            ok += s == int(b["start_positions"]) and en == int(b["end_positions"])
        log(f"PyTorch qa (answer span right): {ok}/{len(held['qa'])}")


if __name__ == "__main__":
    main()
