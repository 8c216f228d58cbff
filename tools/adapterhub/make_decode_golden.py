"""Golden data for polyhead's decoding loop (src/engine/decode.ts), made with the real library.

Runs transformers 4.26.1's `generate()` (as vendored by adapter-transformers 3.2.1) on a TOY
encoder-decoder model whose logits are a deterministic function of each row's decoder_input_ids, over many
option combinations (greedy and beam search), and writes test/fixtures/decode/golden.json with the toy
function's parameters, the options and the library's `sequences` / `sequences_scores`.

    /tmp/ah/python tools/adapterhub/make_decode_golden.py            # writes test/fixtures/decode/golden.json
    /tmp/ah/python tools/adapterhub/make_decode_golden.py OUT.json

The toy logits (re-implemented in test/unit/engine/decode.test.ts; keep the two in step):

    cur_len = len(tokens)                         # decoder_input_ids of the row, decoder start included
    last, prev = tokens[-1], (tokens[-2] if cur_len >= 2 else VOCAB)
    h = (last * 131 + salt * 17) % H               if salt is even   (depends on the last token only: cycles, repeats)
        (last * 131 + prev * 31 + salt * 17) % H   if salt is odd
    logit[v] = float32(PERM[h][v] * STEP + (FAVOURED if v < NFAV else 0) + (EOS_BOOST * cur_len if v == EOS else 0))   # "grid" cases
    logit[v] = float32(NORMAL[h][v] + (EOS_BOOST * cur_len if v == EOS else 0))                                      # "normal" cases

`salt` is the source row's id (the encoder input is one token, the salt; the toy encoder passes it through).
PERM rows are permutations of range(VOCAB), so the values of one row are distinct and at least 0.005 apart
for cur_len <= 13 (asserted below; FAVOURED and EOS_BOOST were picked for that), which keeps every argmax / top-k decision far from float32-vs-float64 rounding. NORMAL is a float32 table of
N(0, 2.5^2) draws: continuous logits like a real model's, with no designed separation (half the random mixes use
it, to show ids still match on realistic logits).
"""

import json
import os
import sys

import numpy as np
import torch
from torch import nn

import transformers
from transformers import BartConfig, BartForConditionalGeneration
from transformers.modeling_outputs import BaseModelOutput, Seq2SeqLMOutput

VOCAB = 50
H = 64
STEP = 0.15
FAVOURED = 2.27  # tokens below NFAV get this bonus, so walks stay among a few tokens and n-grams repeat
NFAV = 14
EOS_BOOST = 0.355  # EOS grows likelier with length, so sequences end at varied lengths
BOS, PAD, EOS = 0, 1, 2
SALTS = [0, 1, 2]  # three source rows
rng = np.random.default_rng(20260)
PERM = np.stack([rng.permutation(VOCAB) for _ in range(H)]).astype(np.int64)
# "normal" logits: continuous float32 values, as a real model gives (no designed separation; see README)
NORMAL = (rng.standard_normal((H, VOCAB)) * 2.5).astype(np.float32)


def toy_logits_row(tokens, salt, kind="grid"):
    cur_len = len(tokens)
    last = tokens[-1]
    prev = tokens[-2] if cur_len >= 2 else VOCAB
    h = (last * 131 + salt * 17) % H if salt % 2 == 0 else (last * 131 + prev * 31 + salt * 17) % H
    out = np.empty(VOCAB, dtype=np.float64)
    for v in range(VOCAB):
        if kind == "grid":
            x = PERM[h][v] * STEP
            if v < NFAV:
                x = x + FAVOURED
        else:
            x = float(NORMAL[h][v])
        if v == EOS:
            x = x + EOS_BOOST * cur_len
        out[v] = x
    return out.astype(np.float32)


def check_separation():
    worst = 1e9
    for h in range(H):
        for cur_len in range(1, 14):  # max_length is at most 13 here
            row = np.sort(np.array([PERM[h][v] * STEP + (FAVOURED if v < NFAV else 0) + (EOS_BOOST * cur_len if v == EOS else 0) for v in range(VOCAB)]))
            worst = min(worst, float(np.min(np.diff(row))))
    assert worst >= 0.004, worst
    return worst


class ToyEncoder(nn.Module):
    def forward(self, input_ids=None, attention_mask=None, return_dict=True, **kwargs):
        return BaseModelOutput(last_hidden_state=input_ids.float()[:, :, None])


class ToyBart(BartForConditionalGeneration):
    """Ignores its weights: logits depend only on each row's decoder_input_ids and its source's salt."""

    def get_encoder(self):
        return ToyEncoder()

    def forward(self, input_ids=None, attention_mask=None, decoder_input_ids=None, encoder_outputs=None, past_key_values=None, use_cache=None, return_dict=None, **kwargs):
        assert past_key_values is None, "the toy runs without a cache: every call sees whole rows"
        salts = encoder_outputs[0][:, 0, 0].round().long().tolist()
        rows = decoder_input_ids.tolist()
        logits = torch.from_numpy(np.stack([toy_logits_row(r, s, self.logits_kind) for r, s in zip(rows, salts)]))
        # generate() reads logits[:, -1, :]
        return Seq2SeqLMOutput(logits=logits[:, None, :], past_key_values=None)


class ToyMarian(ToyBart):
    """Marian's one generation quirk: MarianMTModel.adjust_logits_during_generation (beam search only)."""

    def adjust_logits_during_generation(self, logits, cur_len):
        logits[:, self.config.pad_token_id] = float("-inf")  # never predict pad token.
        return logits


def make_models():
    cfg = BartConfig(vocab_size=VOCAB, d_model=8, encoder_layers=1, decoder_layers=1, encoder_attention_heads=1, decoder_attention_heads=1,
                     encoder_ffn_dim=8, decoder_ffn_dim=8, max_position_embeddings=32, bos_token_id=BOS, pad_token_id=PAD, eos_token_id=EOS,
                     decoder_start_token_id=EOS, forced_eos_token_id=None, forced_bos_token_id=None, no_repeat_ngram_size=0, num_beams=1)
    torch.manual_seed(0)
    return {"bart": ToyBart(cfg).eval(), "marian": ToyMarian(cfg).eval()}


def cut(seq, eos):
    """ids after the decoder start token, up to and including the first EOS; HF pads after it."""
    out = []
    for t in seq[1:]:
        out.append(t)
        if t == eos:
            break
    return out


def run_case(models, c):
    model = models[c["model"]]
    model.logits_kind = c["logits"]
    kw = dict(
        max_new_tokens=c["maxNewTokens"], num_beams=c["numBeams"], length_penalty=c["lengthPenalty"], early_stopping=c["earlyStopping"],
        num_return_sequences=c["numReturnSequences"], min_length=c["minLength"], no_repeat_ngram_size=c["noRepeatNgramSize"],
        bad_words_ids=c["badWordsIds"] if c["badWordsIds"] else None, forced_bos_token_id=c["forcedBosTokenId"], forced_eos_token_id=c["forcedEosTokenId"],
        eos_token_id=EOS, pad_token_id=PAD, bos_token_id=BOS, decoder_start_token_id=c["decoderStartTokenId"], do_sample=False, num_beam_groups=1,
        use_cache=False, return_dict_in_generate=True, output_scores=True, repetition_penalty=1.0, diversity_penalty=0.0,
    )
    with torch.no_grad():
        out = model.generate(torch.tensor([[s] for s in SALTS]), **kw)
    n = c["numReturnSequences"]
    seqs = out.sequences.tolist()
    res = {"sequences": [[cut(seqs[i * n + j], EOS) for j in range(n)] for i in range(len(SALTS))]}
    if c["numBeams"] > 1:
        sc = out.sequences_scores.tolist()
        res["scores"] = [[sc[i * n + j] for j in range(n)] for i in range(len(SALTS))]
    return res


def cases():
    r = np.random.default_rng(7)
    bad_choices = [[], [[5]], [[3, 4], [9]], [[2], [6]], [[7, 2], [11, 11]], [[4, 4, 4]]]

    def extras(c):
        c["noRepeatNgramSize"] = int(r.choice([0, 0, 2, 3]))
        ml = 1 + c["maxNewTokens"]
        c["minLength"] = int(min(ml, r.choice([0, 0, 3, 6, 9])))
        c["badWordsIds"] = bad_choices[int(r.integers(len(bad_choices)))]
        c["forcedBosTokenId"] = int(r.choice([-1, -1, -1, 7, 13]))
        c["forcedEosTokenId"] = int(r.choice([-1, -1, EOS]))
        for k in ("forcedBosTokenId", "forcedEosTokenId"):
            if c[k] < 0:
                c[k] = None
        c["model"] = str(r.choice(["bart", "marian"]))
        c["decoderStartTokenId"] = EOS if c["model"] == "bart" else PAD
        return c

    out = []
    # plain greedy and beam search, every core combination, no processors
    for mnt in (5, 12):
        for model, start in (("bart", EOS), ("marian", PAD)):
            out.append(dict(numBeams=1, lengthPenalty=1.0, earlyStopping=False, numReturnSequences=1, maxNewTokens=mnt, noRepeatNgramSize=0, minLength=0,
                            badWordsIds=[], forcedBosTokenId=None, forcedEosTokenId=None, model=model, decoderStartTokenId=start))
    for nb in (2, 4, 5):
        for lp in (0.6, 1.0, 2.0):
            for es in (True, False, "never"):
                for nrs in (1, 2, 3):
                    if nrs > nb:
                        continue
                    for mnt in (5, 12):
                        out.append(dict(numBeams=nb, lengthPenalty=lp, earlyStopping=es, numReturnSequences=nrs, maxNewTokens=mnt, noRepeatNgramSize=0, minLength=0,
                                        badWordsIds=[], forcedBosTokenId=None, forcedEosTokenId=None, model="bart", decoderStartTokenId=EOS))
    # each processor alone, greedy and beams
    for nb in (1, 4):
        for mnt in (5, 12):
            base = dict(numBeams=nb, lengthPenalty=1.0, earlyStopping=False, numReturnSequences=1, maxNewTokens=mnt, noRepeatNgramSize=0, minLength=0,
                        badWordsIds=[], forcedBosTokenId=None, forcedEosTokenId=None, model="bart", decoderStartTokenId=EOS)
            for k, vals in (("noRepeatNgramSize", [2, 3]), ("minLength", [3, 6, 9]), ("badWordsIds", bad_choices[1:]), ("forcedBosTokenId", [7, 13]),
                            ("forcedEosTokenId", [EOS]), ("model", ["marian"])):
                for v in vals:
                    c = dict(base)
                    c[k] = v
                    if k == "model":
                        c["decoderStartTokenId"] = PAD
                    if k == "minLength" and v > 1 + mnt:
                        continue
                    out.append(c)
    for c in out:
        c["logits"] = "grid"
    # random mixes, on both kinds of logits
    for i in range(280):
        nb = int(r.choice([1, 1, 2, 4, 5]))
        c = dict(numBeams=nb, lengthPenalty=float(r.choice([0.6, 1.0, 2.0])), earlyStopping=[True, False, "never"][int(r.integers(3))],
                 numReturnSequences=1 if nb == 1 else int(r.integers(1, min(3, nb) + 1)), maxNewTokens=int(r.choice([5, 12])))
        c = extras(c)
        c["logits"] = "grid" if i % 2 == 0 else "normal"
        out.append(c)
    return out


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "test", "fixtures", "decode", "golden.json")
    sep = check_separation()
    models = make_models()
    results = []
    for i, c in enumerate(cases()):
        c = dict(c)
        c["name"] = f"{i:03d} " + ("greedy" if c["numBeams"] == 1 else f"beams={c['numBeams']} lp={c['lengthPenalty']} es={c['earlyStopping']} nrs={c['numReturnSequences']}") + \
            f" new={c['maxNewTokens']} {c['logits']} {c['model']} ngram={c['noRepeatNgramSize']} min={c['minLength']} bad={c['badWordsIds']} fbos={c['forcedBosTokenId']} feos={c['forcedEosTokenId']}"
        c["expected"] = run_case(models, c)
        results.append(c)
    toy = dict(vocab=VOCAB, h=H, step=STEP, favoured=FAVOURED, nfav=NFAV, eosBoost=EOS_BOOST, bos=BOS, pad=PAD, eos=EOS, salts=SALTS, perm=PERM.tolist(), normal=[[float(x) for x in row] for row in NORMAL],
               minRowGap=round(sep, 6))
    doc = dict(library=f"transformers {transformers.__version__} (adapter-transformers), torch {torch.__version__}", toy=toy, cases=results)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    # a few statistics so a regeneration shows the cases exercise what they should
    ends = sum(1 for c in results for s in c["expected"]["sequences"] for q in s if q and q[-1] == EOS)
    full = sum(1 for c in results for s in c["expected"]["sequences"] for q in s if not q or q[-1] != EOS)
    print(f"{len(results)} cases -> {path}; sequences ending in EOS: {ends}, cut at max length: {full}; min row gap {sep:.3f}")


if __name__ == "__main__":
    main()
