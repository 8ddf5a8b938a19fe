"""Shared pieces of the torch kernel implementations: the registry entry, dtypes, random inputs.

Every implementation follows the same three-function contract (see :class:`KernelImpl`):

* ``make_inputs(shape, device, generator)`` allocates and fills every tensor the kernel
  reads *and* the output buffers it writes. Outputs are preallocated so that a timed call
  does not allocate: on CPU a fresh multi-MB buffer from ``malloc``/``mmap`` page-faults on
  first touch, which made early iterations 2x slower in this project's first measurements.
  A real pipeline reuses its buffers too, so this is also the memory state it sees.
* ``run(inputs)`` performs one kernel call and returns the output tensor(s).
* ``reference(inputs_np)`` computes the same result with plain numpy (float64 where it
  matters) from :func:`to_numpy` of the inputs; the tests compare the two.

Dtype: kernels.py counts bytes with ``elem_bytes`` (default 2 = fp16/bf16). On CPU the
implementations compute in float32 (:data:`CPU_COMPUTE_DTYPE`): bf16 GEMMs on CPUs without
AMX run through slow conversion paths, and a calibration that times an unrepresentative code
path is worse than one whose bytes differ from the formula by a constant factor the fit
absorbs. On CUDA/ROCm ``elem_bytes`` 2 maps to bf16 and 4 to float32. The dtype actually used
is reported by :func:`compute_dtype` and recorded in every table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

try:  # torch is optional for hetsim; this module is only imported when calibrating
    import torch
except ImportError:  # pragma: no cover - exercised only without torch
    torch = None  # type: ignore[assignment]

#: dtype the CPU implementations compute and store in (see the module docstring).
CPU_COMPUTE_DTYPE = "float32"

Inputs = dict[str, Any]


@dataclass(frozen=True)
class KernelImpl:
    """A torch implementation of one kernel of :data:`hetsim.kernels.KERNELS`.

    Attributes
    ----------
    name : str
        The kernel name (same key as in ``hetsim.kernels.KERNELS``).
    make_inputs : callable
        ``(shape: dict, device: str, generator: torch.Generator) -> dict`` of tensors (inputs
        and preallocated outputs) and Python scalars. *shape* is resolved with the kernel's
        defaults first (``KERNELS[name].resolve``).
    run : callable
        ``(inputs) -> tensor or tuple of tensors``: one kernel call.
    reference : callable
        ``(inputs_np) -> ndarray or tuple``: the numpy reference over :func:`to_numpy`.
    rtol, atol : float
        Tolerances the tests use to compare ``run`` with ``reference`` in float32.
    note : str
        What the implementation assumes beyond the shape (pool sizes, masks, ...).
    reindex : callable or None
        For gathers: ``(inputs, generator) -> inputs`` sharing the (large) pool tensors but with
        fresh random row indices. Timing loops rotate through such index sets, because a
        gather that re-reads the same rows every call finds them in cache, while a pipeline
        (new top-k each step, a different cache per layer) reads them from DRAM.
    """

    name: str
    make_inputs: Callable[[Mapping[str, int], str, Any], Inputs]
    run: Callable[[Inputs], Any]
    reference: Callable[[dict[str, Any]], Any]
    rtol: float = 1e-4
    atol: float = 1e-5
    note: str = ""
    reindex: Callable[[Inputs, Any], Inputs] | None = None


def require_torch():
    """Return the torch module or raise ImportError with the install hint."""
    if torch is None:
        raise ImportError("calibration needs torch: pip install torch==2.13.0 "
                          "(or the 'calibrate' extra of hetsim)")
    return torch


def torch_device(device: str) -> str:
    """Map a hetsim device kind (``cpu``, ``cuda``, ``rocm``) to a torch device string.

    ROCm builds of torch expose AMD GPUs through the ``cuda`` device type.
    """
    if device == "rocm":
        return "cuda"
    return device


def compute_dtype(device: str, elem_bytes: int = 2):
    """Return the torch dtype the implementations use for *elem_bytes* on *device*."""
    t = require_torch()
    if torch_device(device).startswith("cpu"):
        return getattr(t, CPU_COMPUTE_DTYPE)
    return {2: t.bfloat16, 4: t.float32}.get(int(elem_bytes), t.float32)


#: Tensors with at least this many elements are filled by repeating a block of
#: :data:`TILE_ELEMS` normal draws instead of drawing every element (see :func:`randn`).
TILE_FROM_ELEMS = 1 << 22
#: Length of the repeated block: a prime, so that the rows of a matrix with fewer rows than
#: this start at distinct offsets of the block (row i at i * row_length mod TILE_ELEMS) and no
#: two rows, and so no two scores or top-k keys computed from them, coincide.
TILE_ELEMS = 1_000_003


def randn(size, generator, device: str, dtype) -> "torch.Tensor":
    """Normal random tensor drawn with *generator* (on its own device), then moved to *device*.

    Drawing on the generator's device keeps results reproducible whatever *device* is. A
    tensor of :data:`TILE_FROM_ELEMS` elements or more repeats one block of
    :data:`TILE_ELEMS` draws. Why: drawing every element of the validation pipelines' GBs of
    weights took most of a validate run (one allocation of the DSA pipeline's buffers 29 s, of
    RAG's 9 s, on one core here), time in which no round ran; a kernel's speed depends on the
    bytes it moves and the float values' class (normal draws: no zeros, no denormals), not on
    which draws they are.
    """
    t = require_torch()
    gen_dev = generator.device if generator is not None else "cpu"
    shape = tuple(size) if isinstance(size, (tuple, list)) else (int(size),)
    n = math.prod(shape)
    if n < TILE_FROM_ELEMS:
        x = t.randn(shape, generator=generator, device=gen_dev, dtype=t.float32)
        return x.to(device=torch_device(device), dtype=dtype)
    block = t.randn(TILE_ELEMS, generator=generator, device=gen_dev, dtype=t.float32)
    block = block.to(device=torch_device(device), dtype=dtype)
    out = t.empty(n, device=torch_device(device), dtype=dtype)
    full = n // TILE_ELEMS
    out[:full * TILE_ELEMS].view(full, TILE_ELEMS).copy_(block.expand(full, TILE_ELEMS))
    out[full * TILE_ELEMS:].copy_(block[:n - full * TILE_ELEMS])
    return out.view(shape)


def randn_scaled(size, fan_in: int, generator, device: str, dtype) -> "torch.Tensor":
    """Normal draws (weights, keys) scaled by 1/sqrt(*fan_in*) in place, so outputs stay O(1)
    whatever the reduction length is."""
    return randn(size, generator, device, dtype).div_(max(1.0, fan_in ** 0.5))


def randint(high: int, size, generator, device: str) -> "torch.Tensor":
    """Uniform int64 tensor in ``[0, high)`` drawn with *generator*, moved to *device*."""
    t = require_torch()
    gen_dev = generator.device if generator is not None else "cpu"
    x = t.randint(0, max(1, int(high)), size, generator=generator, device=gen_dev, dtype=t.int64)
    return x.to(torch_device(device))


def empty(size, device: str, dtype) -> "torch.Tensor":
    """Zero-filled output buffer: zeroing touches every page now, not in the first timed call."""
    t = require_torch()
    return t.zeros(size, device=torch_device(device), dtype=dtype)


def to_numpy(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Convert the tensors of *inputs* to numpy (floating point as float64), keep scalars.

    float64 makes the reference an accurate yardstick for float32 torch results.
    """
    out: dict[str, Any] = {}
    for key, val in inputs.items():
        if torch is not None and isinstance(val, torch.Tensor):
            v = val.detach().cpu()
            out[key] = v.double().numpy() if v.is_floating_point() else v.numpy().copy()
        else:
            out[key] = val
    return out


def inputs_nbytes(inputs: Mapping[str, Any]) -> int:
    """Total bytes of the tensors in *inputs* (inputs and output buffers), in B."""
    total = 0
    for val in inputs.values():
        if torch is not None and isinstance(val, torch.Tensor):
            total += val.untyped_storage().nbytes()
    return total


def np_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax in numpy."""
    z = x - x.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def softmax_(x: "torch.Tensor") -> "torch.Tensor":
    """In-place softmax over the last dim (no allocation of a score-sized buffer)."""
    x.sub_(x.amax(dim=-1, keepdim=True))
    x.exp_()
    x.div_(x.sum(dim=-1, keepdim=True))
    return x
