"""Relevancy scoring over a key or item memory: ``indexer_score``, ``page_bound_score``,
``inner_product_score``, ``bm25_score``. Scores are float32, as kernels.py counts them (4 B)."""

from __future__ import annotations

import numpy as np

from ._common import KernelImpl, compute_dtype, empty, randint, randn, randn_scaled, require_torch


# ---- indexer_score (DSA lightning indexer) ---------------------------------------------------
# score[b, s] = sum_h w[b, h] * relu(q[b, h] . k[b, s])
# The plain torch version materialises the [heads, keys] fp32 logits: one bmm writes them, the
# in-place relu reads and writes them, the weighting bmm reads them (intermediate=1 in
# kernels.py). The calibration grid therefore records intermediate=1.

def _indexer_inputs(shape, device, generator):
    t = require_torch()
    dt = compute_dtype(device, shape["elem_bytes"])
    b, n, h, d = shape["batch"], shape["num_keys"], shape["num_heads"], shape["head_dim"]
    return {
        "q": randn((b, h, d), generator, device, dt),
        "w": randn((b, 1, h), generator, device, t.float32),
        "keys": randn_scaled((b, n, d), d, generator, device, dt),
        "logits": empty((b, h, n), device, t.float32 if dt == t.float32 else dt),
        "out": empty((b, 1, n), device, t.float32),
    }


def _indexer_run(x):
    t = require_torch()
    logits = t.bmm(x["q"], x["keys"].transpose(1, 2), out=x["logits"])
    logits.relu_()
    if logits.dtype != t.float32:  # GPU bf16 path: weight in fp32
        logits = logits.float()
    return t.bmm(x["w"], logits, out=x["out"]).squeeze(1)


def _indexer_ref(x):
    logits = np.einsum("bhd,bnd->bhn", x["q"], x["keys"])
    return np.einsum("bh,bhn->bn", x["w"][:, 0, :], np.maximum(logits, 0.0))


# ---- page_bound_score (Quest): sum_d max(q_d * kmin_d, q_d * kmax_d) per page ---------------

def _pbs_inputs(shape, device, generator):
    t = require_torch()
    dt = compute_dtype(device, shape["elem_bytes"])
    b, p, d = shape["batch"], shape["num_pages"], shape["head_dim"]
    a = randn((b, p, d), generator, device, dt)
    c = randn((b, p, d), generator, device, dt)
    return {"q": randn((b, 1, d), generator, device, dt),
            "kmin": t.minimum(a, c), "kmax": t.maximum(a, c),
            "tmp_min": empty((b, p, d), device, dt), "tmp_max": empty((b, p, d), device, dt),
            "out": empty((b, p), device, t.float32)}


def _pbs_run(x):
    t = require_torch()
    t.mul(x["kmin"], x["q"], out=x["tmp_min"])
    t.mul(x["kmax"], x["q"], out=x["tmp_max"])
    t.maximum(x["tmp_min"], x["tmp_max"], out=x["tmp_min"])
    return t.sum(x["tmp_min"], dim=-1, dtype=t.float32, out=x["out"])


def _pbs_ref(x):
    return np.maximum(x["q"] * x["kmin"], x["q"] * x["kmax"]).sum(-1)


# ---- inner_product_score: scores[b, i] = q[b] . m[i] (shared) or m[b, i] (per query) --------

def _ips_inputs(shape, device, generator):
    t = require_torch()
    dt = compute_dtype(device, shape["elem_bytes"])
    b, n, d, f = shape["batch"], shape["num_items"], shape["dim"], shape["shared_memory_factor"]
    if f not in (1, b):
        raise ValueError(f"inner_product_score: shared_memory_factor={f} must be 1 (one memory "
                         f"shared by the batch) or batch={b} (one memory per query)")
    mem_shape = (n, d) if f == 1 else (b, n, d)
    return {"q": randn((b, d), generator, device, dt),
            "memory": randn_scaled(mem_shape, d, generator, device, dt),
            "out": empty((b, n), device, t.float32 if dt == t.float32 else dt)}


def _ips_run(x):
    t = require_torch()
    mem = x["memory"]
    if mem.dim() == 2:
        return t.matmul(x["q"], mem.t(), out=x["out"])
    t.bmm(mem, x["q"].unsqueeze(-1), out=x["out"].unsqueeze(-1))
    return x["out"]


def _ips_ref(x):
    mem = x["memory"]
    if mem.ndim == 2:
        return x["q"] @ mem.T
    return np.einsum("bd,bnd->bn", x["q"], mem)


# ---- bm25_score over an inverted index ------------------------------------------------------
# Postings are stored term by term (CSR): doc id and term frequency per posting, the posting
# count and idf per query term. The per-document length normaliser
# K_d = k1 * (1 - b + b * len_d / avgdl) is precomputed at index time (one float per doc).
# score[d] = sum over postings (t, d) of idf_t * tf * (k1 + 1) / (tf + K_d)

BM25_K1 = 1.2


def _bm25_inputs(shape, device, generator):
    t = require_torch()
    p, nd, nt = shape["num_postings"], shape["num_docs"], shape["num_terms"]
    nt = max(1, nt)
    base, rem = divmod(p, nt)
    lengths = t.tensor([base + (1 if j < rem else 0) for j in range(nt)], dtype=t.int64)
    term_of = t.repeat_interleave(t.arange(nt), lengths)
    docs = randint(nd, (p,), generator, "cpu")
    order = t.argsort(term_of * max(1, nd) + docs)  # posting lists are sorted by doc id
    docs = docs[order]
    gen_dev = generator.device if generator is not None else "cpu"
    tf = t.randint(1, 8, (p,), generator=generator, device=gen_dev).float()
    doc_len = t.randint(50, 500, (max(1, nd),), generator=generator, device=gen_dev).float()
    k_d = BM25_K1 * (1 - 0.75 + 0.75 * doc_len / doc_len.mean())
    idf = t.rand((nt,), generator=generator, device=gen_dev) * 5
    dev = "cuda" if device in ("cuda", "rocm") else device
    return {"doc_ids": docs.to(dev), "tf": tf.to(dev), "term_lengths": lengths.to(dev),
            "idf": idf.to(dev), "doc_norm": k_d.to(dev),
            "denom": empty((p,), device, t.float32),
            "out": empty((max(1, nd),), device, t.float32), "num_postings": p}


def _bm25_run(x):
    t = require_torch()
    idf_p = t.repeat_interleave(x["idf"], x["term_lengths"], output_size=x["num_postings"])
    denom = t.index_select(x["doc_norm"], 0, x["doc_ids"], out=x["denom"])
    denom.add_(x["tf"])
    idf_p.mul_(x["tf"]).mul_(BM25_K1 + 1.0).div_(denom)
    x["out"].zero_()
    return x["out"].index_add_(0, x["doc_ids"], idf_p)


def _bm25_ref(x):
    idf_p = np.repeat(x["idf"], x["term_lengths"])
    tf = x["tf"]
    contrib = idf_p * tf * (BM25_K1 + 1.0) / (tf + x["doc_norm"][x["doc_ids"]])
    out = np.zeros(x["doc_norm"].shape[0])
    np.add.at(out, x["doc_ids"], contrib)
    return out


INDEXER_SCORE = KernelImpl(
    "indexer_score", _indexer_inputs, _indexer_run, _indexer_ref, rtol=1e-4, atol=1e-4,
    note="plain torch: materialises the [heads, keys] fp32 logits (intermediate=1)")
PAGE_BOUND_SCORE = KernelImpl("page_bound_score", _pbs_inputs, _pbs_run, _pbs_ref,
                              rtol=1e-4, atol=1e-4)
INNER_PRODUCT_SCORE = KernelImpl(
    "inner_product_score", _ips_inputs, _ips_run, _ips_ref, rtol=1e-4, atol=1e-4,
    note="shared_memory_factor must be 1 (shared memory) or batch (a memory per query)")
BM25_SCORE = KernelImpl(
    "bm25_score", _bm25_inputs, _bm25_run, _bm25_ref, rtol=1e-4, atol=1e-4,
    note="postings split evenly over terms, doc ids uniform in [0, num_docs), k1=1.2, b=0.75")
