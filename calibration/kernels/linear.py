"""Dense linear algebra: ``gemm`` (projections; GEMV when m is small), ``bmm``, ``router``,
``expert_ffn``."""

from __future__ import annotations

import numpy as np

from ._common import KernelImpl, compute_dtype, empty, randn, randn_scaled, require_torch


# ---- gemm: C[m, n] = A[m, k] @ W[k, n] -------------------------------------------------------

def _gemm_inputs(shape, device, generator):
    dt = compute_dtype(device, shape["elem_bytes"])
    m, n, k = shape["m"], shape["n"], shape["k"]
    return {"a": randn((m, k), generator, device, dt),
            # scaled so outputs stay O(1) whatever k is
            "w": randn_scaled((k, n), k, generator, device, dt),
            "out": empty((m, n), device, dt)}


def _gemm_run(x):
    t = require_torch()
    return t.matmul(x["a"], x["w"], out=x["out"])


def _gemm_ref(x):
    return x["a"] @ x["w"]


# ---- bmm: C[b, m, n] = A[b, m, k] @ B[b, k, n] ------------------------------------------------

def _bmm_inputs(shape, device, generator):
    dt = compute_dtype(device, shape["elem_bytes"])
    b, m, n, k = shape["batch"], shape["m"], shape["n"], shape["k"]
    return {"a": randn((b, m, k), generator, device, dt),
            "b": randn_scaled((b, k, n), k, generator, device, dt),
            "out": empty((b, m, n), device, dt)}


def _bmm_run(x):
    t = require_torch()
    return t.bmm(x["a"], x["b"], out=x["out"])


def _bmm_ref(x):
    return np.matmul(x["a"], x["b"])


# ---- router: logits[tokens, experts] = x[tokens, hidden] @ Wr[hidden, experts] --------------

def _router_inputs(shape, device, generator):
    dt = compute_dtype(device, shape["elem_bytes"])
    t, h, e = shape["tokens"], shape["hidden"], shape["num_experts"]
    return {"x": randn((t, h), generator, device, dt),
            "w": randn_scaled((h, e), h, generator, device, dt),
            "out": empty((t, e), device, dt)}


def _router_run(x):
    t = require_torch()
    return t.matmul(x["x"], x["w"], out=x["out"])


def _router_ref(x):
    return x["x"] @ x["w"]


# ---- expert_ffn: y = sum_e (silu(x W1_e) * (x W3_e)) W2_e over num_active experts -----------

def _ffn_inputs(shape, device, generator):
    dt = compute_dtype(device, shape["elem_bytes"])
    t, h, i, a = shape["tokens"], shape["hidden"], shape["intermediate"], shape["num_active"]
    return {
        "x": randn((t, h), generator, device, dt),
        # gate and up projections stacked: [experts, hidden, 2 * intermediate]
        "w13": randn_scaled((a, h, 2 * i), h, generator, device, dt),
        "w2": randn_scaled((a, i, h), i, generator, device, dt),
        "h13": empty((a, t, 2 * i), device, dt),
        "act": empty((a, t, i), device, dt),
        "y_e": empty((a, t, h), device, dt),
        "out": empty((t, h), device, dt),
    }


def _ffn_run(x):
    t = require_torch()
    a = x["w13"].shape[0]
    i = x["w2"].shape[1]
    xs = x["x"].unsqueeze(0).expand(a, -1, -1)
    t.bmm(xs, x["w13"], out=x["h13"])
    gate, up = x["h13"][..., :i], x["h13"][..., i:]
    t.sigmoid(gate, out=x["act"])  # silu(g) = g * sigmoid(g), computed without temporaries
    x["act"].mul_(gate).mul_(up)
    t.bmm(x["act"], x["w2"], out=x["y_e"])
    return t.sum(x["y_e"], dim=0, out=x["out"])


def _ffn_ref(x):
    i = x["w2"].shape[1]
    y = np.zeros((x["x"].shape[0], x["w2"].shape[2]))
    for e in range(x["w13"].shape[0]):
        h = x["x"] @ x["w13"][e]
        g, u = h[:, :i], h[:, i:]
        y += ((g / (1.0 + np.exp(-g))) * u) @ x["w2"][e]
    return y


GEMM = KernelImpl("gemm", _gemm_inputs, _gemm_run, _gemm_ref, rtol=1e-4, atol=1e-4)
BMM = KernelImpl("bmm", _bmm_inputs, _bmm_run, _bmm_ref, rtol=1e-4, atol=1e-4)
ROUTER = KernelImpl("router", _router_inputs, _router_run, _router_ref, rtol=1e-4, atol=1e-4)
EXPERT_FFN = KernelImpl(
    "expert_ffn", _ffn_inputs, _ffn_run, _ffn_ref, rtol=1e-4, atol=1e-4,
    note="every token goes through all num_active experts (weights stacked per expert)")
