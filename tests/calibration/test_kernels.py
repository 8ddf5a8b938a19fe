"""Each torch kernel agrees with its plain numpy reference on small shapes.

Tolerances: the torch kernels compute in float32 on CPU and the references in float64, so
floating results are compared with each implementation's ``rtol``/``atol`` (1e-4 relative
for reductions over up to a few hundred terms; exact for copies, gathers, min/max, bitmaps).
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from calibration.kernels import KERNEL_IMPLS, get_impl, inputs_nbytes, prepare, to_numpy  # noqa: E402
from calibration.kernels import movement  # noqa: E402
from hetsim.kernels import plain_kernels  # noqa: E402

#: Small shapes per kernel, several per kernel to hit edge cases (ragged blocks, GQA, batch>1).
SHAPES = {
    "gemm": [{"m": 1, "n": 24, "k": 40}, {"m": 7, "n": 5, "k": 130}],
    "index_key_write": [{"batch": 3, "head_dim": 16}],
    "indexer_score": [{"batch": 2, "num_keys": 37, "num_heads": 4, "head_dim": 16},
                      {"batch": 1, "num_keys": 300, "num_heads": 8, "head_dim": 32, "intermediate": 1}],
    "block_pool": [{"batch": 2, "num_keys": 70, "block_size": 16, "head_dim": 8},
                   {"batch": 1, "num_keys": 64, "block_size": 64, "head_dim": 4}],
    "page_minmax": [{"batch": 2, "num_keys": 45, "page_size": 8, "head_dim": 6}],
    "page_bound_score": [{"batch": 3, "num_pages": 11, "head_dim": 16}],
    "inner_product_score": [{"batch": 2, "num_items": 50, "dim": 24},
                            {"batch": 3, "num_items": 20, "dim": 8, "shared_memory_factor": 3}],
    "bm25_score": [{"num_postings": 500, "num_docs": 64, "num_terms": 3},
                   {"num_postings": 7, "num_docs": 100, "num_terms": 4}],
    "topk": [{"batch": 2, "num_items": 100, "k": 10}, {"batch": 1, "num_items": 16, "k": 16}],
    "threshold_bitmap": [{"batch": 2, "num_items": 29}, {"batch": 1, "num_items": 64}],
    "kv_gather": [{"batch": 2, "num_selected": 9, "row_elems": 12}],
    "dense_attention": [{"batch": 1, "num_heads": 4, "num_kv_heads": 2, "head_dim": 16,
                         "num_keys": 33, "num_queries": 1},
                        {"batch": 2, "num_heads": 2, "num_kv_heads": 2, "head_dim": 8,
                         "num_keys": 20, "num_queries": 3}],
    "sparse_attention": [{"batch": 2, "num_heads": 4, "num_selected": 17, "kv_dim": 24, "v_dim": 16}],
    "router": [{"tokens": 3, "hidden": 32, "num_experts": 8}],
    "expert_ffn": [{"tokens": 2, "hidden": 16, "intermediate": 12, "num_active": 3}],
    "embedding_gather": [{"num_rows": 13, "row_elems": 10}],
    "elementwise": [{"num_elems": 1000}, {"num_elems": 77, "inputs": 1}],
    "pow": [{"num_elems": 1000}, {"num_elems": 77, "inputs": 1}],
    "bmm": [{"batch": 3, "m": 5, "n": 7, "k": 130}, {"batch": 1, "m": 1, "n": 24, "k": 40}],
    "softmax": [{"rows": 3, "cols": 50}, {"rows": 1, "cols": 7}],
    "layernorm": [{"rows": 4, "cols": 33}],
    "moe_experts": [{"tokens": 3, "hidden": 16, "intermediate": 12, "top_k": 2, "experts_touched": 5},
                    {"tokens": 1, "hidden": 8, "intermediate": 4, "top_k": 4, "experts_touched": 4}],
    "block_gate_score": [{"batch": 4, "num_items": 9, "dim": 16, "shared_memory_factor": 4}],
    "engram_gather": [{"num_tokens": 7, "num_heads": 16, "row_elems": 8}],
    "gemv_steps": [{"steps": 3, "m": 2, "k": 20, "n": 9}],
    "attention_steps": [{"batch": 2, "num_heads": 4, "num_kv_heads": 2, "head_dim": 8, "start_keys": 5, "steps": 4}],
}

CASES = [pytest.param(name, shape, id=f"{name}-{i}")
         for name, shapes in SHAPES.items() for i, shape in enumerate(shapes)]


@pytest.fixture(autouse=True)
def small_pools(monkeypatch):
    """Keep gather pools small in tests (the default is 64 MiB to defeat the L3)."""
    monkeypatch.setattr(movement, "MIN_POOL_BYTES", 4096)


def test_registry_covers_every_kernel():
    assert set(KERNEL_IMPLS) == set(plain_kernels())
    assert set(SHAPES) == set(plain_kernels()), "every kernel needs a correctness case"


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


@pytest.mark.parametrize("name, shape", CASES)
def test_kernel_matches_numpy_reference(name, shape):
    impl, inputs = prepare(name, shape, "cpu", torch.Generator().manual_seed(1234))
    ref = _as_tuple(impl.reference(to_numpy(inputs)))
    out = _as_tuple(impl.run(inputs))
    assert len(out) == len(ref)
    if name == "topk":  # ties may order indices differently: compare values, then the scores
        values, indices = out
        np.testing.assert_array_equal(values.numpy(), ref[0].astype(np.float32))
        picked = torch.gather(inputs["scores"], 1, indices)
        np.testing.assert_array_equal(picked.numpy(), values.numpy())
        return
    for got, want in zip(out, ref):
        got = got.detach().cpu()
        got = got.double().numpy() if got.is_floating_point() else got.numpy()
        assert got.shape == want.shape, f"{name}: shape {got.shape} != reference {want.shape}"
        np.testing.assert_allclose(got, want, rtol=impl.rtol, atol=impl.atol)


@pytest.mark.parametrize("name, shape", CASES[:4])
def test_run_is_repeatable_on_warm_buffers(name, shape):
    """A second call on the same (preallocated) buffers gives the same answer."""
    impl, inputs = prepare(name, shape, "cpu", torch.Generator().manual_seed(7))
    first = [t.clone() for t in _as_tuple(impl.run(inputs))]
    second = _as_tuple(impl.run(inputs))
    for a, b in zip(first, second):
        assert torch.equal(a, b)


def test_inputs_are_deterministic_given_the_generator():
    _, a = prepare("indexer_score", SHAPES["indexer_score"][0], "cpu", torch.Generator().manual_seed(3))
    _, b = prepare("indexer_score", SHAPES["indexer_score"][0], "cpu", torch.Generator().manual_seed(3))
    assert torch.equal(a["keys"], b["keys"]) and torch.equal(a["q"], b["q"])
    assert inputs_nbytes(a) > 0


def test_bad_shapes_are_rejected():
    from hetsim.errors import GraphError

    g = torch.Generator().manual_seed(0)
    with pytest.raises(GraphError):
        prepare("gemm", {"m": 1, "n": 2}, "cpu", g)  # k missing
    with pytest.raises(GraphError):  # k > num_items: refused by the kernel's shape check
        prepare("topk", {"batch": 1, "num_items": 4, "k": 5}, "cpu", g)
    with pytest.raises(ValueError):
        prepare("inner_product_score", {"batch": 2, "num_items": 4, "dim": 3,
                                        "shared_memory_factor": 3}, "cpu", g)
    with pytest.raises(KeyError):
        get_impl("no_such_kernel")


def test_dense_attention_prefill_path_matches_reference(monkeypatch):
    """Above the score-size limit dense_attention uses torch's SDPA; same answer."""
    from calibration.kernels import attention

    monkeypatch.setattr(attention, "DENSE_SCORE_LIMIT_BYTES", 0)
    shape = SHAPES["dense_attention"][0]
    impl, inputs = prepare("dense_attention", shape, "cpu", torch.Generator().manual_seed(5))
    assert "scores" not in inputs
    np.testing.assert_allclose(impl.run(inputs).double().numpy(), impl.reference(to_numpy(inputs)),
                               rtol=impl.rtol, atol=impl.atol)


@pytest.mark.parametrize("name", ["kv_gather", "sparse_attention", "embedding_gather"])
def test_reindex_shares_the_pool_and_draws_new_rows(name):
    impl, inputs = prepare(name, SHAPES[name][0], "cpu", torch.Generator().manual_seed(9))
    other = impl.reindex(inputs, torch.Generator().manual_seed(10))
    pool = "table" if name == "embedding_gather" else "cache"
    assert other[pool] is inputs[pool]
    assert not torch.equal(other["idx"], inputs["idx"])
    for key, val in inputs.items():  # every other buffer rotates too (query, scratch, output)
        if isinstance(val, torch.Tensor) and key != pool:
            assert other[key].data_ptr() != val.data_ptr(), key
    ref = _as_tuple(impl.reference(to_numpy(other)))
    np.testing.assert_allclose(_as_tuple(impl.run(other))[0].double().numpy(), ref[0],
                               rtol=impl.rtol, atol=impl.atol)
