"""Attention: ``dense_attention`` (GQA over the whole cache) and ``sparse_attention`` (MLA over
gathered latent rows, DSA's apply-to-inference step)."""

from __future__ import annotations

import numpy as np

from ._common import KernelImpl, compute_dtype, empty, np_softmax, randint, randn, require_torch, softmax_
from .movement import pool_rows, reindex_batched


# ---- dense_attention: softmax(q K^T / sqrt(d)) V, grouped-query ------------------------------
# Queries attend to every cached key (no causal mask): the decode case (num_queries=1) exactly,
# and what kernels.py counts (4 * heads * queries * keys * head_dim FLOP) for larger chunks.
# Two code paths, chosen by the size of the [heads, queries, keys] score matrix:
# * up to DENSE_SCORE_LIMIT_BYTES (decode and short chunks): two batched GEMMs with an in-place
#   softmax in a preallocated buffer, queries of a KV group stacked into one GEMM. On this
#   project's CPU this was 2-3x faster than torch's scaled_dot_product_attention for decode
#   and scales linearly in the keys; the score matrix is small next to K and V.
# * above it (prefill): scaled_dot_product_attention (flash kernel, no score matrix in memory).

DENSE_SCORE_LIMIT_BYTES = 64 * 2**20


def _dense_inputs(shape, device, generator):
    t = require_torch()
    dt = compute_dtype(device, shape["elem_bytes"])
    b, h, kvh = shape["batch"], shape["num_heads"], shape["num_kv_heads"]
    d, nk, nq = shape["head_dim"], shape["num_keys"], shape["num_queries"]
    if kvh < 1 or h % kvh:
        raise ValueError(f"dense_attention: num_heads={h} must be a multiple of num_kv_heads={kvh}")
    x = {"q": randn((b, h, nq, d), generator, device, dt),
         "k": randn((b, kvh, nk, d), generator, device, dt),
         "v": randn((b, kvh, nk, d), generator, device, dt)}
    if b * h * nq * nk * t.empty((), dtype=dt).element_size() <= DENSE_SCORE_LIMIT_BYTES:
        g = h // kvh
        x["scores"] = empty((b * kvh, g * nq, nk), device, dt)
        x["out"] = empty((b * kvh, g * nq, d), device, dt)
    return x


def _dense_run(x):
    t = require_torch()
    q, k, v = x["q"], x["k"], x["v"]
    if "scores" not in x:
        return t.nn.functional.scaled_dot_product_attention(q, k, v, enable_gqa=q.shape[1] != k.shape[1])
    b, h, nq, d = q.shape
    kvh, nk = k.shape[1], k.shape[2]
    g = h // kvh
    # [b, kvh*g, nq, d] -> [b*kvh, g*nq, d]: the queries sharing one KV head form one GEMM
    qg = q.reshape(b * kvh, g * nq, d)
    scores = t.bmm(qg, k.reshape(b * kvh, nk, d).transpose(1, 2), out=x["scores"])
    scores.mul_(d ** -0.5)
    softmax_(scores)
    out = t.bmm(scores, v.reshape(b * kvh, nk, d), out=x["out"])
    return out.view(b, h, nq, d)


def _dense_ref(x):
    q, k, v = x["q"], x["k"], x["v"]
    g = q.shape[1] // k.shape[1]
    k = np.repeat(k, g, axis=1)
    v = np.repeat(v, g, axis=1)
    s = np.einsum("bhqd,bhkd->bhqk", q, k) / np.sqrt(q.shape[-1])
    return np.einsum("bhqk,bhkd->bhqd", np_softmax(s), v)


# ---- sparse_attention: MLA (absorbed) over num_selected gathered latent rows ----------------
# Each latent row holds kv_dim elements (kv_lora_rank + rope dims); the first v_dim of them are
# the value latent. Per batch element: gather rows by index, scores = q . row / sqrt(kv_dim),
# softmax, out = p @ rows[:, :v_dim]. The gather reads from a cache pool (see movement.py).

def _sparse_inputs(shape, device, generator):
    t = require_torch()
    dt = compute_dtype(device, shape["elem_bytes"])
    b, h, s = shape["batch"], shape["num_heads"], shape["num_selected"]
    kd, vd = shape["kv_dim"], shape["v_dim"]
    if vd > kd:
        raise ValueError(f"sparse_attention: v_dim={vd} must be <= kv_dim={kd} (value latent is "
                         "a prefix of the cached row)")
    rows = pool_rows(s, kd * t.empty((), dtype=dt).element_size())
    idx = randint(rows, (b, s), generator, device)
    flat = (idx + t.arange(b, device=idx.device).unsqueeze(1) * rows).reshape(-1)
    return {"q": randn((b, h, kd), generator, device, dt),
            "cache": randn((b, rows, kd), generator, device, dt), "idx": idx, "flat_idx": flat,
            "sel": empty((b * s, kd), device, dt), "scores": empty((b, h, s), device, dt),
            "out": empty((b, h, vd), device, dt), "scale": 1.0 / kd ** 0.5}


def _sparse_run(x):
    t = require_torch()
    cache = x["cache"]
    b, _, kd = cache.shape
    vd = x["out"].shape[-1]
    sel = t.index_select(cache.view(-1, kd), 0, x["flat_idx"], out=x["sel"]).view(b, -1, kd)
    scores = t.bmm(x["q"], sel.transpose(1, 2), out=x["scores"])
    scores.mul_(x["scale"])
    softmax_(scores)
    return t.bmm(scores, sel[:, :, :vd], out=x["out"])


def _sparse_ref(x):
    rows = np.take_along_axis(x["cache"], x["idx"][:, :, None], axis=1)
    s = np.einsum("bhd,bsd->bhs", x["q"], rows) * x["scale"]
    vd = x["out"].shape[-1]
    return np.einsum("bhs,bsd->bhd", np_softmax(s), rows[:, :, :vd])


DENSE_ATTENTION = KernelImpl(
    "dense_attention", _dense_inputs, _dense_run, _dense_ref, rtol=1e-4, atol=1e-5,
    note="no causal mask; bmm + in-place softmax when the score matrix is <= 64 MiB, else SDPA")
SPARSE_ATTENTION = KernelImpl(
    "sparse_attention", _sparse_inputs, _sparse_run, _sparse_ref, rtol=1e-4, atol=1e-5,
    note="MLA absorbed form, scale 1/sqrt(kv_dim), value = first v_dim elements of each row",
    reindex=reindex_batched)
