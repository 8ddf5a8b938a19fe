"""Torch implementations of every kernel in :data:`hetsim.kernels.KERNELS`.

:data:`KERNEL_IMPLS` is an explicit registry keyed by the kernel names of ``hetsim.kernels``;
each :class:`KernelImpl` has ``make_inputs(shape, device, generator)``, ``run(inputs)`` and a
numpy ``reference(inputs_np)``. Shapes use the keys of ``hetsim.kernels`` exactly; pass them
through :func:`prepare` (which fills the kernel's defaults and checks the keys) or resolve
them yourself with ``KERNELS[name].resolve``.

Examples
--------
>>> import torch
>>> from calibration.kernels import prepare, KERNEL_IMPLS
>>> impl, inputs = prepare("gemm", {"m": 2, "n": 8, "k": 16}, "cpu", torch.Generator().manual_seed(0))
>>> tuple(impl.run(inputs).shape)
(2, 8)
"""

from __future__ import annotations

from typing import Any, Mapping

from hetsim.kernels import KERNELS

from ._common import (CPU_COMPUTE_DTYPE, KernelImpl, compute_dtype, inputs_nbytes, require_torch,
                      to_numpy, torch_device)
from .attention import DENSE_ATTENTION, SPARSE_ATTENTION
from .library import ATTENTION_STEPS, BLOCK_GATE_SCORE, ENGRAM_GATHER, GEMV_STEPS, MOE_EXPERTS
from .linear import BMM, EXPERT_FFN, GEMM, ROUTER
from .movement import EMBEDDING_GATHER, INDEX_KEY_WRITE, KV_GATHER, TOPK
from .scoring import BM25_SCORE, INDEXER_SCORE, INNER_PRODUCT_SCORE, PAGE_BOUND_SCORE
from .streaming import BLOCK_POOL, ELEMENTWISE, LAYERNORM, PAGE_MINMAX, POW, SOFTMAX, THRESHOLD_BITMAP

#: kernel name -> :class:`KernelImpl`; same keys as :data:`hetsim.kernels.KERNELS`.
KERNEL_IMPLS: dict[str, KernelImpl] = {
    "gemm": GEMM,
    "index_key_write": INDEX_KEY_WRITE,
    "indexer_score": INDEXER_SCORE,
    "block_pool": BLOCK_POOL,
    "page_minmax": PAGE_MINMAX,
    "page_bound_score": PAGE_BOUND_SCORE,
    "inner_product_score": INNER_PRODUCT_SCORE,
    "bm25_score": BM25_SCORE,
    "topk": TOPK,
    "threshold_bitmap": THRESHOLD_BITMAP,
    "kv_gather": KV_GATHER,
    "dense_attention": DENSE_ATTENTION,
    "sparse_attention": SPARSE_ATTENTION,
    "router": ROUTER,
    "expert_ffn": EXPERT_FFN,
    "embedding_gather": EMBEDDING_GATHER,
    "elementwise": ELEMENTWISE,
    "pow": POW,
    "bmm": BMM,
    "softmax": SOFTMAX,
    "layernorm": LAYERNORM,
    "moe_experts": MOE_EXPERTS,
    "block_gate_score": BLOCK_GATE_SCORE,
    "engram_gather": ENGRAM_GATHER,
    "gemv_steps": GEMV_STEPS,
    "attention_steps": ATTENTION_STEPS,
}

for _name, _impl in KERNEL_IMPLS.items():  # the registry must mirror hetsim.kernels
    if _impl.name != _name or _name not in KERNELS:  # pragma: no cover - guards the literal
        raise RuntimeError(f"calibration kernel registry out of sync at {_name!r}")


def get_impl(name: str) -> KernelImpl:
    """Return the implementation of kernel *name*; KeyError lists the known names."""
    try:
        return KERNEL_IMPLS[name]
    except KeyError:
        raise KeyError(f"no torch implementation of kernel {name!r}; known: "
                       f"{', '.join(sorted(KERNEL_IMPLS))}") from None


def prepare(name: str, shape: Mapping[str, int], device: str, generator) -> tuple[KernelImpl, dict[str, Any]]:
    """Resolve *shape* against ``hetsim.kernels`` and build the kernel's inputs.

    Parameters
    ----------
    name : str
        Kernel name.
    shape : mapping
        Shape keys of the kernel (defaults such as ``elem_bytes`` are filled in).
    device : str
        ``cpu``, ``cuda`` or ``rocm`` (ROCm torch uses the ``cuda`` device type).
    generator : torch.Generator
        Source of the random inputs (any device; values are moved to *device*).

    Returns
    -------
    (KernelImpl, dict)
        The implementation and its inputs (tensors on *device*, outputs preallocated).
    """
    impl = get_impl(name)
    full = KERNELS[name].resolve(shape)
    return impl, impl.make_inputs(full, device, generator)


__all__ = ["KERNEL_IMPLS", "KernelImpl", "get_impl", "prepare", "to_numpy", "inputs_nbytes",
           "compute_dtype", "torch_device", "require_torch", "CPU_COMPUTE_DTYPE"]
