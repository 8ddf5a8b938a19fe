"""Kernels of the workload library: ``moe_experts``, ``block_gate_score``, ``engram_gather``."""

from __future__ import annotations

import numpy as np

from ._common import KernelImpl, compute_dtype, empty, randint, randn, randn_scaled, require_torch
from .movement import pool_rows
from .scoring import INNER_PRODUCT_SCORE

# ---- moe_experts: each token through its top_k of experts_touched SwiGLU experts -------------
# Routing is fixed and balanced: token t uses experts (t * top_k + j) mod experts_touched, so
# every touched expert is used (when tokens * top_k >= experts_touched) and the work matches
# the kernel's FLOP formula exactly.


def _moe_inputs(shape, device, generator):
    t = require_torch()
    dt = compute_dtype(device, shape["elem_bytes"])
    n, h, i = shape["tokens"], shape["hidden"], shape["intermediate"]
    k, e = shape["top_k"], shape["experts_touched"]
    if k > e:
        raise ValueError(f"moe_experts: top_k={k} > experts_touched={e}")
    assign = (np.arange(n)[:, None] * k + np.arange(k)[None, :]) % e  # [tokens, top_k]
    tok = [t.tensor(np.nonzero((assign == x).any(axis=1))[0], dtype=t.int64) for x in range(e)]
    return {"x": randn((n, h), generator, device, dt),
            "w13": randn_scaled((e, h, 2 * i), h, generator, device, dt),
            "w2": randn_scaled((e, i, h), i, generator, device, dt),
            "tokens_of": tok, "out": empty((n, h), device, dt)}


def _moe_run(x):
    t = require_torch()
    out = x["out"]
    out.zero_()
    i = x["w2"].shape[1]
    for e, idx in enumerate(x["tokens_of"]):
        if idx.numel() == 0:
            continue
        idx = idx.to(out.device)
        h = t.matmul(t.index_select(x["x"], 0, idx), x["w13"][e])
        g, u = h[:, :i], h[:, i:]
        out.index_add_(0, idx, t.matmul(t.nn.functional.silu(g) * u, x["w2"][e]))
    return out


def _moe_ref(x):
    i = x["w2"].shape[1]
    y = np.zeros((x["x"].shape[0], x["w2"].shape[2]))
    for e, idx in enumerate(x["tokens_of"]):
        idx = np.asarray(idx, dtype=np.int64)
        if idx.size == 0:
            continue
        h = x["x"][idx] @ x["w13"][e]
        g, u = h[:, :i], h[:, i:]
        np.add.at(y, idx, ((g / (1.0 + np.exp(-g))) * u) @ x["w2"][e])
    return y


# ---- engram_gather: hash each token's 2-gram into one row per head, gather the rows ----------
# row[t, h] = ((id[t] * A_h) xor (id[t-1] * B_h)) mod rows, A_h and B_h fixed odd multipliers;
# heads read separate tables, stored back to back.

_A = 0x9E3779B1
_B = 0x85EBCA77


def _eg_inputs(shape, device, generator):
    t = require_torch()
    dt = compute_dtype(device, shape["elem_bytes"])
    n, heads, r = shape["num_tokens"], shape["num_heads"], shape["row_elems"]
    rows = max(1, pool_rows(n * heads, r * t.empty((), dtype=dt).element_size()) // heads)
    return {"ids": randint(1 << 17, (n + 1,), generator, device),
            "tables": randn((heads * rows, r), generator, device, dt),
            "mult_a": t.tensor([_A + 2 * h for h in range(heads)], dtype=t.int64),
            "mult_b": t.tensor([_B + 2 * h for h in range(heads)], dtype=t.int64),
            "rows": rows, "out": empty((n, heads, r), device, dt)}


def _eg_reindex(x, generator):
    return {**x, "ids": randint(1 << 17, x["ids"].shape, generator, str(x["tables"].device))}


def _eg_run(x):
    t = require_torch()
    ids, rows = x["ids"], x["rows"]
    a, b = x["mult_a"].to(ids.device), x["mult_b"].to(ids.device)
    cur, prev = ids[1:, None], ids[:-1, None]
    row = t.bitwise_xor(cur * a, prev * b).remainder_(rows)
    row += t.arange(a.numel(), device=ids.device, dtype=t.int64)[None, :] * rows
    n, heads, r = x["out"].shape
    return t.index_select(x["tables"], 0, row.reshape(-1), out=x["out"].view(n * heads, r)).view(n, heads, r)


def _eg_ref(x):
    ids, rows = np.asarray(x["ids"], dtype=np.int64), x["rows"]
    a, b = np.asarray(x["mult_a"], dtype=np.int64), np.asarray(x["mult_b"], dtype=np.int64)
    row = np.bitwise_xor(ids[1:, None] * a, ids[:-1, None] * b) % rows + np.arange(a.size)[None, :] * rows
    return x["tables"][row]


MOE_EXPERTS = KernelImpl(
    "moe_experts", _moe_inputs, _moe_run, _moe_ref, rtol=1e-4, atol=1e-4,
    note="balanced fixed routing: token t -> experts (t*top_k + j) mod experts_touched")
BLOCK_GATE_SCORE = KernelImpl(
    "block_gate_score", INNER_PRODUCT_SCORE.make_inputs, INNER_PRODUCT_SCORE.run, INNER_PRODUCT_SCORE.reference,
    rtol=1e-4, atol=1e-4, note="the inner-product scorer over pooled keys (one memory per query row)")
ENGRAM_GATHER = KernelImpl(
    "engram_gather", _eg_inputs, _eg_run, _eg_ref, rtol=0, atol=0,
    note="2-gram multiplicative-xor hash per head; tables of pool_rows(tokens x heads)/heads rows each",
    reindex=_eg_reindex)


# ---- gemv_steps: `steps` sequential token GEMVs against one weight matrix --------------------

def _gs_inputs(shape, device, generator):
    dt = compute_dtype(device, shape["elem_bytes"])
    s, m, k, n = shape["steps"], shape["m"], shape["k"], shape["n"]
    return {"a": randn((s, m, k), generator, device, dt),
            "w": randn_scaled((k, n), k, generator, device, dt),
            "out": empty((s, m, n), device, dt)}


def _gs_run(x):
    t = require_torch()
    for i in range(x["a"].shape[0]):  # one call per token, as decoding does
        t.matmul(x["a"][i], x["w"], out=x["out"][i])
    return x["out"]


def _gs_ref(x):
    return x["a"] @ x["w"]


# ---- attention_steps: step t attends to start_keys + t + 1 keys ------------------------------

def _as_inputs(shape, device, generator):
    dt = compute_dtype(device, shape["elem_bytes"])
    b, h, kvh, d = shape["batch"], shape["num_heads"], shape["num_kv_heads"], shape["head_dim"]
    s, k0 = shape["steps"], shape["start_keys"]
    if kvh < 1 or h % kvh:
        raise ValueError(f"attention_steps: num_heads={h} must be a multiple of num_kv_heads={kvh}")
    return {"q": randn((s, b, h, 1, d), generator, device, dt),
            "k": randn((b, kvh, k0 + s, d), generator, device, dt),
            "v": randn((b, kvh, k0 + s, d), generator, device, dt),
            "start_keys": k0, "out": empty((s, b, h, 1, d), device, dt)}


def _as_run(x):
    t = require_torch()
    k0, q = x["start_keys"], x["q"]
    gqa = q.shape[2] != x["k"].shape[1]
    for i in range(q.shape[0]):
        n = k0 + i + 1
        x["out"][i] = t.nn.functional.scaled_dot_product_attention(
            q[i], x["k"][:, :, :n], x["v"][:, :, :n], enable_gqa=gqa)
    return x["out"]


def _as_ref(x):
    q, k, v, k0 = x["q"], x["k"], x["v"], x["start_keys"]
    s, b, h, _, d = q.shape
    g = h // k.shape[1]
    out = np.zeros(q.shape)
    for i in range(s):
        n = k0 + i + 1
        kk = np.repeat(k[:, :, :n], g, axis=1)
        vv = np.repeat(v[:, :, :n], g, axis=1)
        sc = q[i] @ kk.transpose(0, 1, 3, 2) / np.sqrt(d)
        sc = np.exp(sc - sc.max(axis=-1, keepdims=True))
        out[i] = (sc / sc.sum(axis=-1, keepdims=True)) @ vv
    return out


GEMV_STEPS = KernelImpl("gemv_steps", _gs_inputs, _gs_run, _gs_ref, rtol=1e-4, atol=1e-4,
                        note="one matmul per step (a decode token each)")
ATTENTION_STEPS = KernelImpl("attention_steps", _as_inputs, _as_run, _as_ref, rtol=1e-4, atol=1e-4,
                             note="one scaled_dot_product_attention per step over a growing key prefix")
