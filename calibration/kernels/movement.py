"""Selection and data movement: ``topk``, ``index_key_write``, ``kv_gather``,
``embedding_gather``.

The shapes of the gather kernels name how many rows are read but not the size of the pool
they are read from, which decides how often a row hits in cache. The implementations draw
rows from a pool of at least :data:`MIN_POOL_BYTES` (8x a 32 MiB L3) and at least
:data:`POOL_FACTOR` times the rows gathered, so gathers go to DRAM as they do from a
long-context KV cache or an embedding table that cannot fit in cache. Each implementation
also has a ``reindex`` that draws new row indices over the same pool, for timing loops.
"""

from __future__ import annotations

import numpy as np

from ._common import KernelImpl, compute_dtype, empty, randint, randn, require_torch

#: Minimum size of the pool gathered from, in B (8x a 32 MiB L3: most rows miss the cache).
MIN_POOL_BYTES = 256 * 2**20
#: The pool has at least this many times the rows gathered.
POOL_FACTOR = 8


def pool_rows(num_selected: int, row_bytes: int) -> int:
    """Rows in the pool a gather of *num_selected* rows of *row_bytes* B reads from."""
    return int(max(POOL_FACTOR * num_selected, -(-MIN_POOL_BYTES // max(1, row_bytes)), 1))


# ---- topk: k largest fp32 scores -> (values, indices) ----------------------------------------

def _topk_inputs(shape, device, generator):
    t = require_torch()
    b, n, k = shape["batch"], shape["num_items"], shape["k"]
    if k > n:
        raise ValueError(f"topk: k={k} > num_items={n}")
    return {"scores": randn((b, n), generator, device, t.float32), "k": k,
            "values": empty((b, k), device, t.float32), "indices": empty((b, k), device, t.int64)}


def _topk_run(x):
    t = require_torch()
    return t.topk(x["scores"], x["k"], dim=-1, out=(x["values"], x["indices"]))


def _topk_ref(x):
    s, k = x["scores"], x["k"]
    idx = np.argsort(-s, axis=-1, kind="stable")[:, :k]
    return np.take_along_axis(s, idx, axis=-1), idx


# ---- index_key_write: append one key per sequence to the index cache -------------------------

INDEX_CACHE_ROWS = 64


def _ikw_inputs(shape, device, generator):
    dt = compute_dtype(device, shape["elem_bytes"])
    b, d = shape["batch"], shape["head_dim"]
    return {"key": randn((b, d), generator, device, dt),
            "cache": empty((b, INDEX_CACHE_ROWS, d), device, dt), "pos": INDEX_CACHE_ROWS - 1}


def _ikw_run(x):
    row = x["cache"].select(1, x["pos"])
    return row.copy_(x["key"])


def _ikw_ref(x):
    return x["key"]


# ---- kv_gather: out[b, j] = cache[b, idx[b, j]] ---------------------------------------------

def _kvg_inputs(shape, device, generator):
    t = require_torch()
    dt = compute_dtype(device, shape["elem_bytes"])
    b, s, r = shape["batch"], shape["num_selected"], shape["row_elems"]
    rows = pool_rows(s, r * t.empty((), dtype=dt).element_size())
    idx = randint(rows, (b, s), generator, device)
    flat = (idx + t.arange(b, device=idx.device).unsqueeze(1) * rows).reshape(-1)
    return {"cache": randn((b, rows, r), generator, device, dt), "idx": idx, "flat_idx": flat,
            "out": empty((b * s, r), device, dt)}


def _flat_rows(b: int, rows: int, s: int, generator, device: str):
    t = require_torch()
    idx = randint(rows, (b, s), generator, device)
    return idx, (idx + t.arange(b, device=idx.device).unsqueeze(1) * rows).reshape(-1)


def fresh_private(x, generator, pool: str):
    """Copies of every tensor of *x* but the shared *pool*: new random values for floating
    inputs, zeroed buffers for the rest (outputs, scratch).

    A timing loop that rotated only the indices would keep the query and the output buffers
    hot in cache across calls; a pipeline writes each call's output to fresh memory and reads
    a query just produced elsewhere. Index tensors are replaced by the caller.
    """
    t = require_torch()
    out = {}
    for key, val in x.items():
        if key == pool or not isinstance(val, t.Tensor):
            out[key] = val
        elif val.is_floating_point():
            out[key] = randn(tuple(val.shape), generator, str(val.device), val.dtype)
        else:
            out[key] = t.zeros_like(val)
    return out


def reindex_batched(x, generator):
    """New random rows for a batched gather (``cache`` [b, rows, r], ``idx`` [b, s]); every
    other buffer (query, scratch, output) is a fresh copy too (:func:`fresh_private`)."""
    b, rows = x["cache"].shape[0], x["cache"].shape[1]
    idx, flat = _flat_rows(b, rows, x["idx"].shape[1], generator, str(x["cache"].device))
    return {**fresh_private(x, generator, "cache"), "idx": idx, "flat_idx": flat}


def _kvg_run(x):
    t = require_torch()
    cache = x["cache"]
    flat = cache.view(-1, cache.shape[-1])
    out = t.index_select(flat, 0, x["flat_idx"], out=x["out"])
    return out.view(cache.shape[0], -1, cache.shape[-1])


def _kvg_ref(x):
    return np.take_along_axis(x["cache"], x["idx"][:, :, None], axis=1)


# ---- embedding_gather: rows of an embedding table -------------------------------------------

def _emb_inputs(shape, device, generator):
    t = require_torch()
    dt = compute_dtype(device, shape["elem_bytes"])
    n, r = shape["num_rows"], shape["row_elems"]
    rows = pool_rows(n, r * t.empty((), dtype=dt).element_size())
    return {"table": randn((rows, r), generator, device, dt),
            "idx": randint(rows, (n,), generator, device), "out": empty((n, r), device, dt)}


def _emb_reindex(x, generator):
    return {**fresh_private(x, generator, "table"),
            "idx": randint(x["table"].shape[0], x["idx"].shape, generator, str(x["table"].device))}


def _emb_run(x):
    t = require_torch()
    return t.index_select(x["table"], 0, x["idx"], out=x["out"])


def _emb_ref(x):
    return x["table"][x["idx"]]


TOPK = KernelImpl("topk", _topk_inputs, _topk_run, _topk_ref, rtol=0, atol=0,
                  note="ties broken arbitrarily: tests compare values and score[indices]")
INDEX_KEY_WRITE = KernelImpl("index_key_write", _ikw_inputs, _ikw_run, _ikw_ref, rtol=0, atol=0,
                             note=f"writes row {INDEX_CACHE_ROWS - 1} of a {INDEX_CACHE_ROWS}-row cache")
KV_GATHER = KernelImpl("kv_gather", _kvg_inputs, _kvg_run, _kvg_ref, rtol=0, atol=0,
                       note="uniform random rows from a pool of pool_rows(num_selected) rows",
                       reindex=reindex_batched)
EMBEDDING_GATHER = KernelImpl("embedding_gather", _emb_inputs, _emb_run, _emb_ref, rtol=0, atol=0,
                              note="uniform random rows of a table of pool_rows(num_rows) rows",
                              reindex=_emb_reindex)
