"""Shape grids that calibration sweeps, per kernel, chosen around the shapes workloads use.

The grids bracket the workloads' shapes so that the fitted tables interpolate rather than
extrapolate for them:

* DSA decode (DeepSeek-V3.2 dims, hetsim.workloads.dsa_decode): projections are GEMMs with
  m = batch (1..64) and (k, n) among (7168, 576), (1536, 8192), (16384, 512), (7168, 1536);
  the lightning indexer scores 1K..64K keys with 64 heads x 128 dims; top-2048; sparse MLA
  attention of 128 heads over 2048 rows of 576 (value 512) elements.
* dense / block-sparse attention and pooling over 1K..64K cached keys, head_dim 128.
* dense RAG: inner-product scoring of 4K..32K items of 768 dims, BM25 over 10K..1M postings.
* MoE: router over 7168 hidden -> 64/256 experts, SwiGLU experts 2048 x 1408.

``quick`` grids (4-29 shapes per kernel, about 130 in all) keep ``calibrate(quick=True)`` under
3 minutes on 2 cores; full grids add intermediate and larger shapes. Sizes are bounded so
every input set stays below ~0.5 GB in float32.
"""

from __future__ import annotations

from itertools import product

K = 1024


#: (k, n) of DeepSeek-V3.2's decode projections (hetsim.workloads.dsa_decode defaults):
#: q_a, q_b, kv_a, q_absorb, v_up, o_proj, idx_k, idx_q, idx_w.
DSA_PROJECTIONS = [(7168, 1536), (1536, 24576), (7168, 576), (16384, 512), (65536, 128),
                   (16384, 7168), (7168, 128), (1536, 8192), (7168, 64)]


def _gemm(quick: bool) -> list[dict]:
    # every DSA projection at m=1 (batch-1 decode), and a sweep of m over four of them
    shapes = [{"m": 1, "k": k, "n": n} for k, n in DSA_PROJECTIONS]
    kn = [(7168, 576), (1536, 8192), (16384, 512), (7168, 1536)]
    ms = (2, 4, 8, 16, 64) if quick else (2, 4, 8, 16, 32, 64)
    shapes += [{"m": m, "k": k, "n": n} for (k, n), m in product(kn, ms)]
    return shapes


def _grid(quick: bool) -> dict[str, list[dict]]:
    q = quick
    keys = (1 * K, 2 * K, 4 * K, 8 * K, 16 * K, 32 * K, 64 * K)
    pool_keys = (4 * K, 8 * K, 16 * K, 32 * K, 64 * K) if q else (2 * K, 4 * K, 8 * K, 16 * K, 32 * K, 64 * K)
    return {
        "gemm": _gemm(q),
        "index_key_write": [{"batch": b, "head_dim": 128} for b in ((1, 4, 16, 64) if q else (1, 2, 4, 8, 16, 32, 64))],
        "indexer_score": [{"batch": 1, "num_keys": n, "num_heads": 64, "head_dim": 128, "intermediate": 1}
                          for n in keys]
        + [{"batch": 2, "num_keys": 8 * K, "num_heads": 64, "head_dim": 128, "intermediate": 1}]
        + ([] if q else [{"batch": 1, "num_keys": 16 * K, "num_heads": 32, "head_dim": 128, "intermediate": 1}]),
        "block_pool": [{"batch": 1, "num_keys": n, "block_size": 64, "head_dim": 128} for n in pool_keys],
        "page_minmax": [{"batch": 1, "num_keys": n, "page_size": 16, "head_dim": 128} for n in pool_keys],
        "page_bound_score": [{"batch": 1, "num_pages": n // 16, "head_dim": 128} for n in pool_keys],
        "inner_product_score": [{"batch": b, "num_items": n, "dim": 768}
                                for b, n in ([(1, 4 * K), (1, 8 * K), (1, 16 * K), (1, 32 * K), (4, 16 * K), (8, 8 * K),
                                              (8, 16 * K), (8, 32 * K)] if q else
                                             [(1, 2 * K), (1, 4 * K), (1, 8 * K), (1, 16 * K), (1, 32 * K),
                                              (4, 16 * K), (8, 16 * K), (8, 32 * K), (32, 32 * K)])],
        "bm25_score": [{"num_postings": p, "num_docs": d, "num_terms": t}
                       for p, d, t in ([(10_000, 100_000, 2), (30_000, 100_000, 3), (100_000, 100_000, 4),
                                        (300_000, 1_000_000, 4), (1_000_000, 1_000_000, 8)] if q else
                                       [(10_000, 100_000, 2), (30_000, 100_000, 3), (100_000, 100_000, 4),
                                        (100_000, 1_000_000, 4), (300_000, 1_000_000, 4), (1_000_000, 1_000_000, 8),
                                        (3_000_000, 1_000_000, 8)])],
        "topk": [{"batch": 1, "num_items": n, "k": 2048} for n in ((4 * K, 8 * K, 16 * K, 32 * K, 64 * K, 128 * K) if q else
                                                                   (4 * K, 8 * K, 16 * K, 32 * K, 64 * K, 128 * K))]
        + [{"batch": 1, "num_items": 32 * K, "k": 512}],
        "threshold_bitmap": [{"batch": 1, "num_items": n} for n in ((4 * K, 16 * K, 64 * K, 256 * K, 1024 * K) if q else
                                                                    (4 * K, 16 * K, 64 * K, 256 * K, 1024 * K))],
        "kv_gather": [{"batch": 1, "num_selected": s, "row_elems": 576} for s in ((256, 512, 1024, 2048, 4096) if q else
                                                                                  (128, 256, 512, 1024, 2048, 4096))],
        "dense_attention": [{"batch": 1, "num_heads": 32, "num_kv_heads": 8, "head_dim": 128, "num_keys": n,
                             "num_queries": 1} for n in ((1 * K, 2 * K, 4 * K, 8 * K, 16 * K, 32 * K) if q else
                                                         (1 * K, 2 * K, 4 * K, 8 * K, 16 * K, 32 * K))],
        # the torch version gathers the selected rows into a buffer first (materialised=1)
        "sparse_attention": [{"batch": b, "num_heads": 128, "num_selected": s, "kv_dim": 576, "v_dim": 512,
                              "materialised": 1}
                             for b, s in ([(1, 256), (1, 512), (1, 1024), (1, 2048), (1, 4096), (2, 2048)] if q else
                                          [(1, 128), (1, 256), (1, 512), (1, 1024), (1, 2048), (1, 4096),
                                           (2, 2048), (4, 2048)])],
        "router": [{"tokens": t, "hidden": 7168, "num_experts": e}
                   for t, e in product((1, 4, 16, 64), (64, 256))],
        "expert_ffn": [{"tokens": t, "hidden": 2048, "intermediate": 1408, "num_active": a}
                       for t, a in product((1, 4, 8), (1, 2, 4) if q else (1, 2, 4, 6))],
        "embedding_gather": [{"num_rows": r, "row_elems": e}
                             for r, e in ([(64, 1024), (256, 1024), (1024, 1024), (4096, 1024), (512, 256), (4096, 256)] if q else
                                          [(64, 1024), (256, 1024), (1024, 1024), (4096, 1024), (64, 256),
                                           (512, 256), (4096, 256), (16384, 256)])],
        "elementwise": [{"num_elems": n} for n in ((16 * K, 64 * K, 256 * K, 1024 * K, 4096 * K) if q else
                                                   (16 * K, 64 * K, 256 * K, 1024 * K, 4096 * K))],
        "pow": [{"num_elems": n, "inputs": i} for n in (64 * K, 1024 * K) for i in (1, 2)],
        # NeuSight-style shapes (issue 10): batched attention-score GEMMs, row-wise softmax / LayerNorm
        "bmm": [{"batch": b, "m": m, "n": m, "k": 64} for b, m in ([(16, 128), (64, 128), (64, 256), (16, 1024)] if q else
                                                                   [(16, 128), (64, 128), (64, 256), (16, 1024), (64, 1024)])],
        "softmax": [{"rows": r, "cols": c} for r, c in ([(256, 1024), (1024, 1024), (4096, 1024), (1024, 8192)] if q else
                                                        [(256, 1024), (1024, 1024), (4096, 1024), (1024, 8192), (4096, 4096)])],
        "layernorm": [{"rows": r, "cols": c} for r, c in ([(128, 4096), (512, 4096), (2048, 4096), (8192, 4096)] if q else
                                                          [(128, 4096), (512, 4096), (2048, 4096), (8192, 4096), (2048, 8192)])],
        # workload library: MoE routed experts (top-8; scaled-down 1024 x 512 experts so up to
        # 64 touched experts stay under 0.5 GB), Seer gate over 256..2048 blocks per query row,
        # Engram lookups of 16 heads x 64 elements
        "moe_experts": [{"tokens": t, "hidden": 1024, "intermediate": 512, "top_k": 8,
                         "experts_touched": min(64, t * 8)} for t in ((1, 2, 4, 8) if q else (1, 2, 4, 6, 8, 16))],
        "block_gate_score": [{"batch": b, "num_items": n, "dim": 128, "shared_memory_factor": b}
                             for b, n in ([(8, 256), (8, 1024), (32, 256), (32, 512)] if q else
                                          [(8, 128), (8, 256), (8, 512), (8, 1024), (32, 512), (32, 2048)])],
        "engram_gather": [{"num_tokens": n, "num_heads": 16, "row_elems": 64}
                          for n in ((1, 16, 256, 4096) if q else (1, 8, 64, 256, 1024, 4096))],
        # MemAgent's memory rewrite: runs of decode tokens (Qwen3-8B-sized projections)
        "gemv_steps": [{"steps": s, "m": 1, "k": k, "n": n}
                       for s, (k, n) in product((4, 16) if q else (4, 16, 64), ((4096, 6144), (4096, 4096)))],
        "attention_steps": [{"batch": 1, "num_heads": 32, "num_kv_heads": 8, "head_dim": 128,
                             "start_keys": k0, "steps": s}
                            for k0, s in product((1 * K, 4 * K), (4, 16) if q else (4, 16, 64))],
    }


def shape_grid(kernel: str, quick: bool = False) -> list[dict]:
    """Return the shapes calibration measures for *kernel* (``quick``: the reduced grid).

    Raises
    ------
    KeyError
        *kernel* has no grid (the message lists the kernels that have one).
    """
    grids = _grid(quick)
    if kernel not in grids:
        raise KeyError(f"no calibration grid for kernel {kernel!r}; known: {', '.join(sorted(grids))}")
    return [dict(s) for s in grids[kernel]]


def grid_kernels() -> list[str]:
    """Kernel names that have a grid, in calibration order."""
    return list(_grid(True))
