"""Streaming kernels: ``block_pool``, ``page_minmax``, ``threshold_bitmap``, ``elementwise``, ``pow``,
``softmax``, ``layernorm``."""

from __future__ import annotations

import numpy as np

from ._common import KernelImpl, compute_dtype, empty, np_softmax, randn, require_torch


# ---- block_pool: mean of keys per block of block_size (SeerAttention-R gate input) ----------
# Only complete blocks are pooled (num_keys // block_size of them, as kernels.py counts): the
# trailing partial block is still being filled during decode.

def _pool_inputs(shape, device, generator):
    dt = compute_dtype(device, shape["elem_bytes"])
    b, n, bs, d = shape["batch"], shape["num_keys"], max(1, shape["block_size"]), shape["head_dim"]
    return {"keys": randn((b, n, d), generator, device, dt),
            "out": empty((b, n // bs, d), device, dt), "block_size": bs}


def _pool_run(x):
    t = require_torch()
    b, n, d = x["keys"].shape
    bs = x["block_size"]
    nb = n // bs
    blocks = x["keys"][:, : nb * bs].view(b, nb, bs, d)
    return t.mean(blocks, dim=2, out=x["out"])


def _pool_ref(x):
    k, bs = x["keys"], x["block_size"]
    b, n, d = k.shape
    nb = n // bs
    return k[:, : nb * bs].reshape(b, nb, bs, d).mean(axis=2)


# ---- page_minmax: per-page element-wise min and max (Quest / LServe page metadata) ----------

def _minmax_inputs(shape, device, generator):
    dt = compute_dtype(device, shape["elem_bytes"])
    b, n, ps, d = shape["batch"], shape["num_keys"], max(1, shape["page_size"]), shape["head_dim"]
    return {"keys": randn((b, n, d), generator, device, dt),
            "kmin": empty((b, n // ps, d), device, dt), "kmax": empty((b, n // ps, d), device, dt),
            "page_size": ps}


def _minmax_run(x):
    t = require_torch()
    b, n, d = x["keys"].shape
    ps = x["page_size"]
    npg = n // ps
    pages = x["keys"][:, : npg * ps].view(b, npg, ps, d)
    return t.aminmax(pages, dim=2, out=(x["kmin"], x["kmax"]))


def _minmax_ref(x):
    k, ps = x["keys"], x["page_size"]
    b, n, d = k.shape
    npg = n // ps
    pages = k[:, : npg * ps].reshape(b, npg, ps, d)
    return pages.min(axis=2), pages.max(axis=2)


# ---- threshold_bitmap: (score > threshold) packed 8 items per byte, little bit order --------

def _bitmap_inputs(shape, device, generator):
    t = require_torch()
    b, n = shape["batch"], shape["num_items"]
    nbytes = (n + 7) // 8
    weights = empty((8,), device, t.uint8)
    weights.copy_(t.tensor([1, 2, 4, 8, 16, 32, 64, 128], dtype=t.uint8))
    return {"scores": randn((b, n), generator, device, t.float32), "threshold": 0.5,
            "mask": empty((b, nbytes * 8), device, t.bool),
            "mask_u8": empty((b, nbytes, 8), device, t.uint8),
            "weights": weights, "out": empty((b, nbytes), device, t.uint8)}


def _bitmap_run(x):
    t = require_torch()
    n = x["scores"].shape[1]
    t.gt(x["scores"], x["threshold"], out=x["mask"][:, :n])
    mu8 = x["mask_u8"]
    mu8.view(mu8.shape[0], -1).copy_(x["mask"])
    mu8.mul_(x["weights"])
    return t.sum(mu8, dim=-1, dtype=t.uint8, out=x["out"])


def _bitmap_ref(x):
    return np.packbits(x["scores"] > x["threshold"], axis=-1, bitorder="little")


# ---- elementwise: c = a + b (inputs=2), c = a + 1.5 (inputs=1) -------------------------------

def _ew_inputs(shape, device, generator):
    if shape["inputs"] not in (1, 2):
        raise ValueError(f"elementwise: inputs must be 1 or 2, got {shape['inputs']}")
    dt = compute_dtype(device, shape["elem_bytes"])
    n = shape["num_elems"]
    x = {"a": randn((n,), generator, device, dt), "out": empty((n,), device, dt)}
    if shape["inputs"] == 2:
        x["b"] = randn((n,), generator, device, dt)
    return x


def _ew_run(x):
    t = require_torch()
    return t.add(x["a"], x["b"] if "b" in x else 1.5, out=x["out"])


def _ew_ref(x):
    return x["a"] + (x["b"] if "b" in x else 1.5)


# ---- pow: c = |a| ** b (inputs=2), c = |a| ** 1.5 (inputs=1) --------------------------------
# (positive bases, so every element has a real power; the same ATen pow kernel either way)

def _pow_inputs(shape, device, generator):
    x = _ew_inputs(shape, device, generator)
    x["a"] = x["a"].abs() + 0.5
    return x


def _pow_run(x):
    t = require_torch()
    return t.pow(x["a"], x["b"] if "b" in x else 1.5, out=x["out"])


def _pow_ref(x):
    return np.power(x["a"], x["b"] if "b" in x else 1.5)


# ---- softmax / layernorm over the last dim of [rows, cols] ----------------------------------

def _rows_inputs(shape, device, generator):
    dt = compute_dtype(device, shape["elem_bytes"])
    r, c = shape["rows"], shape["cols"]
    return {"x": randn((r, c), generator, device, dt)}


def _softmax_run(x):  # torch.softmax has no out=: it allocates its output, as in a model
    t = require_torch()
    return t.softmax(x["x"], dim=-1)


def _softmax_ref(x):
    return np_softmax(x["x"], axis=-1)


def _ln_inputs(shape, device, generator):
    x = _rows_inputs(shape, device, generator)
    dt = x["x"].dtype
    c = shape["cols"]
    x["weight"] = randn((c,), generator, device, dt)
    x["bias"] = randn((c,), generator, device, dt)
    return x


def _ln_run(x):
    t = require_torch()
    return t.nn.functional.layer_norm(x["x"], (x["x"].shape[-1],), x["weight"], x["bias"], eps=1e-5)


def _ln_ref(x):
    v = x["x"]
    mu = v.mean(axis=-1, keepdims=True)
    var = ((v - mu) ** 2).mean(axis=-1, keepdims=True)
    return (v - mu) / np.sqrt(var + 1e-5) * x["weight"] + x["bias"]


BLOCK_POOL = KernelImpl("block_pool", _pool_inputs, _pool_run, _pool_ref, rtol=1e-5, atol=1e-6,
                        note="complete blocks only (num_keys // block_size)")
PAGE_MINMAX = KernelImpl("page_minmax", _minmax_inputs, _minmax_run, _minmax_ref, rtol=0, atol=0,
                         note="complete pages only (num_keys // page_size)")
THRESHOLD_BITMAP = KernelImpl(
    "threshold_bitmap", _bitmap_inputs, _bitmap_run, _bitmap_ref, rtol=0, atol=0,
    note="threshold 0.5 on N(0,1) scores; bit i of byte j is item 8j+i (numpy 'little' order)")
ELEMENTWISE = KernelImpl("elementwise", _ew_inputs, _ew_run, _ew_ref, rtol=1e-6, atol=1e-6)
POW = KernelImpl("pow", _pow_inputs, _pow_run, _pow_ref, rtol=1e-5, atol=1e-6)
SOFTMAX = KernelImpl("softmax", _rows_inputs, _softmax_run, _softmax_ref, rtol=1e-5, atol=1e-6)
LAYERNORM = KernelImpl("layernorm", _ln_inputs, _ln_run, _ln_ref, rtol=1e-4, atol=1e-4)
