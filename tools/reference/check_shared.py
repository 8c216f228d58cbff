#!/usr/bin/python3
"""Validate reference.py against a store's cases.json (default: the real AdapterHub fixtures,
test/fixtures/adapterhub).

Compares every expected array (padding positions of token-level outputs excluded) and prints the
max abs error per case. Exit status 1 if any case is above the tolerance (default 1e-5).

    /usr/bin/python3 tools/reference/check_shared.py [STORE_DIR] [--tol 1e-5]
"""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from reference import Store, run_case  # noqa: E402


def masked_err(exp, got, mask):
    e = np.asarray(exp, dtype=np.float64)
    g = np.asarray(got, dtype=np.float64)
    assert e.shape == g.shape, (e.shape, g.shape)
    d = np.abs(e - g)
    if mask is not None and d.ndim >= 2 and d.shape[:2] == mask.shape:
        d = d[mask.astype(bool)]
    return float(d.max()) if d.size else 0.0


def compare(exp, got, mask):
    if isinstance(exp, dict):
        err = 0.0
        for k, v in exp.items():
            if k == "fusion_attentions":
                for fname, layers in v.items():
                    for li, locs in layers.items():
                        for loc, arr in locs.items():
                            err = max(err, masked_err(arr, got[k][fname][li][loc], mask))
            else:
                err = max(err, masked_err(v, got[k], mask))
        return err
    if isinstance(exp, list) and exp and isinstance(exp[0], dict):
        return max(compare(e, g, mask) for e, g in zip(exp, got))
    return masked_err(exp, got, mask)


def main():
    args = sys.argv[1:]
    tol = 1e-5
    if "--tol" in args:
        i = args.index("--tol")
        tol = float(args[i + 1])
        del args[i:i + 2]
    root = args[0] if args else os.path.join(REPO, "test", "fixtures", "adapterhub")
    store = Store(root)
    cases = json.load(open(os.path.join(root, "cases.json")))
    worst = 0.0
    bad = []
    for c in cases:
        got = run_case(store, c)
        mask = np.asarray(c["tokenized"]["attention_mask"])
        exp = c["expected"]
        if "fusion_attentions" in c and isinstance(exp, dict):
            exp = dict(exp, fusion_attentions=c["fusion_attentions"])
        if isinstance(exp, list):
            # batch_split: each branch has its own rows -> its own mask
            comp = c["composition"]
            if isinstance(comp, dict) and "batch_split" in comp:
                s = comp["sizes"]
                err = max(compare(e, g, mask[sum(s[:i]):sum(s[:i + 1])]) for i, (e, g) in enumerate(zip(exp, got)))
            else:
                err = compare(exp, got, mask)
        else:
            err = compare(exp, got, mask)
        worst = max(worst, err)
        flag = "OK " if err <= tol else "BAD"
        if err > tol:
            bad.append(c["id"])
        print("%s %-32s max_err=%.3e" % (flag, c["id"], err))
    print("cases: %d  worst: %.3e  failing: %s" % (len(cases), worst, bad or "none"))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
