"""The kernel library: what each kernel computes, as work (FLOP) and memory traffic (B).

A task in a graph names a kernel and a *shape* (a dict of integer sizes). This module is the
single place that turns (kernel, shape) into the work a cost model prices: floating-point or
integer operations, bytes read from and written to the device's memory, and a kernel class
(GEMM, GEMV, attention, top-k, gather, ...) that selects the achieved efficiency. Workloads,
cost models and the calibration harness all read the same :data:`KERNELS`, so a kernel's
definition cannot drift between the graph that uses it and the table that times it.

The byte counts describe a straightforward implementation (each input read once, each output
written once, intermediates that a plain PyTorch version materialises are counted where noted).
Element sizes are part of the shape (``elem_bytes``; default 2 for fp16/bf16/int16).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

from .errors import GraphError
from .limits import MAX_SIZE, big

Shape = Mapping[str, int]

#: Kernel classes: the roofline efficiency of a GPU/CPU is looked up per class.
KERNEL_CLASSES = (
    "gemm",  # dense matrix-matrix, compute-bound at large m
    "gemv",  # matrix-vector (m small), weight streaming, memory-bound
    "attention",  # dense or sparse attention
    "topk",  # selection / sort
    "gather",  # irregular row gathers / scatters
    "elementwise",  # streaming elementwise and pooling
    "reduction",  # scoring reductions over a key cache
    "copy",  # plain memory copies and writes
)


@dataclass(frozen=True)
class KernelSpec:
    """Definition of one kernel: its class, shape keys and work formulas.

    Parameters
    ----------
    name : str
        Registry key used in task graphs, cost tables and calibration.
    kernel_class : str
        One of :data:`KERNEL_CLASSES`.
    shape_keys : tuple of str
        Required integer sizes in the shape.
    defaults : dict
        Optional shape keys with default values (e.g. ``elem_bytes``).
    flop : callable
        shape -> operations (FLOP, or integer OP for integer kernels).
    bytes_moved : callable
        shape -> bytes read plus written in device memory.
    doc : str
        One line on what the kernel does.
    hints : tuple of str
        Optional shape keys the work formulas never read: facts about the call that only an
        FPGA design priced in another shape needs (the study's designs scan every raw key,
        ``num_keys``, where the workload scores pooled blocks or pages). :meth:`resolve`
        accepts and checks them but leaves them out of the full shape, so GPU pricing and
        calibrated tables see exactly the shape they always saw.
    choices : dict
        Shape keys that are codes, not sizes: key -> {allowed value: meaning} (a GEMM's
        operand layout), checked by :meth:`resolve`.
    at_most : dict
        key -> the shape key it cannot exceed (a top-k selects at most ``num_items`` of
        ``num_items``), checked by :meth:`resolve`.
    regimes : tuple of str
        Shape classes the libraries run with different implementations (see :meth:`regime`);
        empty for a kernel that runs one implementation at every shape.
    regime_of : callable, optional
        full shape -> one of *regimes*.
    """

    name: str
    kernel_class: str
    shape_keys: tuple[str, ...]
    flop: Callable[[dict[str, int]], float]
    bytes_moved: Callable[[dict[str, int]], float]
    defaults: dict[str, int] = field(default_factory=dict)
    doc: str = ""
    fused: bool = False  # a dataflow design (scores streamed into a top-k), FPGA only
    hints: tuple[str, ...] = ()
    choices: dict[str, dict[int, str]] = field(default_factory=dict)
    at_most: dict[str, str] = field(default_factory=dict)
    regimes: tuple[str, ...] = ()
    regime_of: Callable[[dict[str, int]], str] | None = None

    def regime(self, shape: Shape) -> str | None:
        """The implementation regime of *shape* (None for a kernel without regimes).

        Unlike a variant key (a shape key the caller sets, such as a GEMM's layout ``nn``), a
        regime follows from the sizes: a GEMM with one row is handed to a matrix-vector
        kernel whose time follows another law, so a cost model fitted to measurements keeps
        the regimes apart (:mod:`hetsim.costs.fitted`), as the GPU pricing does.
        """
        return self.regime_of(self.resolve(shape)) if self.regime_of is not None else None

    def resolve(self, shape: Shape) -> dict[str, int]:
        """Return the full shape (defaults filled in), checking every key."""
        unknown = set(shape) - set(self.shape_keys) - set(self.defaults) - set(self.hints)
        if unknown:
            raise GraphError(
                f"kernel {self.name!r}: unknown shape keys {sorted(unknown, key=str)}; "
                f"allowed: {sorted(set(self.shape_keys) | set(self.defaults) | set(self.hints))}"
            )
        missing = [k for k in self.shape_keys if k not in shape]
        if missing:
            raise GraphError(f"kernel {self.name!r}: shape is missing {missing}")
        for k in self.hints:
            v = shape.get(k, 1)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise GraphError(f"kernel {self.name!r}: shape[{k!r}]={v!r} must be an integer >= 1")
        full = {**self.defaults, **{k: shape[k] for k in shape if k not in self.hints}}
        for k, v in full.items():
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise GraphError(f"kernel {self.name!r}: shape[{k!r}]={v!r} must be an integer >= 0")
            if v > MAX_SIZE:
                raise GraphError(f"kernel {self.name!r}: shape[{k!r}]={big(v)} must be at most 2**53 "
                                 f"({MAX_SIZE:,})")
        for k, allowed in self.choices.items():
            if full.get(k, min(allowed)) not in allowed:
                raise GraphError(f"kernel {self.name!r}: shape[{k!r}]={full[k]!r} is not allowed; "
                                 "allowed: " + ", ".join(f"{v} ({m})" for v, m in allowed.items()))
        for k, bound in self.at_most.items():
            if full[k] > full[bound]:
                raise GraphError(f"kernel {self.name!r}: shape[{k!r}]={full[k]} must be at most "
                                 f"shape[{bound!r}]={full[bound]}")
        return full

    def work(self, shape: Shape) -> tuple[float, float]:
        """Return ``(flop, bytes_moved)`` for *shape*."""
        full = self.resolve(shape)
        try:
            return float(self.flop(full)), float(self.bytes_moved(full))
        except OverflowError:  # a product of several sizes near the bound
            raise GraphError(f"kernel {self.name!r}: shape {full} gives more FLOP or bytes than a float "
                             "holds; reduce its sizes") from None



def _score_flop(s: dict) -> float:
    """One query's dot products with every memory vector (inner_product_score, block_gate_score)."""
    return 2 * s["batch"] * s["num_items"] * s["dim"]


def _score_bytes(s: dict) -> float:
    """The memory read once per distinct memory, plus each query and its fp32 scores."""
    return (s["num_items"] * s["dim"] * s["elem_bytes"] * s["shared_memory_factor"]
            + s["batch"] * (s["dim"] * s["elem_bytes"] + s["num_items"] * 4))


def _k(name, cls, keys, flop, nbytes, doc, hints=(), choices=None, regime_of=None, at_most=None,
       **defaults) -> KernelSpec:
    d = {"elem_bytes": 2, **defaults}
    return KernelSpec(name, cls, tuple(keys), flop, nbytes, d, doc, hints=tuple(hints),
                      choices=dict(choices or {}), at_most=dict(at_most or {}),
                      regimes=GEMM_REGIMES if regime_of else (),
                      regime_of=regime_of)


#: Regimes of a GEMM-shaped kernel. A call with a unit free dimension (m or n = 1) and one
#: GEMM per launch (batch 1) is handed to the library's matrix-vector kernel: a stream of the
#: weights (cuBLAS gemv; PyTorch on CPU, 4-12 GB/s at one thread); any other call runs the
#: blocked GEMM kernels, whose cost per weight element is flat for small m and then grows with
#: m. This is not the efficiency class of :func:`kernel_class` (a GPU heuristic, m <= 8).
GEMM_REGIMES = ("gemv", "gemm")


def _unit_dim(m: str, n: str, batch: str | None = None) -> Callable[[dict[str, int]], str]:
    """The regime rule of a GEMM whose free dimensions are shape keys *m* and *n*."""
    def regime(s: dict[str, int]) -> str:
        one = batch is None or s[batch] == 1
        return "gemv" if one and min(s[m], s[n]) == 1 else "gemm"
    return regime


#: a GEMM's operand layout (shape key ``nn``): which way B's rows run. It changes no work, only
#: the strides the library's tiles read at (see :mod:`hetsim.costs.gemm_tiles`, row-stride factor)
GEMM_LAYOUT = {0: "nt: B is the [n,k] k-contiguous weight of F.linear (x @ W.T), the default",
               1: "nn: B is [k,n], n-contiguous (torch A @ B, torch.bmm)"}


_SPECS = [
    _k("gemm", "gemm", ("m", "n", "k"),
       lambda s: 2 * s["m"] * s["n"] * s["k"],
       lambda s: (s["m"] * s["k"] + s["k"] * s["n"] + s["m"] * s["n"]) * s["elem_bytes"],
       "dense C[m,n] = A[m,k] @ W[k,n]; class becomes gemv when m <= 8; `nn` the operand "
       "layout (0: F.linear's k-contiguous weight, 1: A @ B)", choices={"nn": GEMM_LAYOUT},
       regime_of=_unit_dim("m", "n"), nn=0),
    _k("index_key_write", "copy", ("batch", "head_dim"),
       lambda s: 0,
       lambda s: 2 * s["batch"] * s["head_dim"] * s["elem_bytes"],
       "append one index key per sequence to the index cache (read + write)"),
    _k("indexer_score", "reduction", ("batch", "num_keys", "num_heads", "head_dim"),
       lambda s: s["batch"] * s["num_keys"] * s["num_heads"] * (2 * s["head_dim"] + 2),
       lambda s: s["batch"] * (s["num_keys"] * s["head_dim"] * s["elem_bytes"]
                               + s["num_heads"] * (s["head_dim"] * s["elem_bytes"] + 4)
                               + s["num_keys"] * 4
                               + s["intermediate"] * 3 * s["num_heads"] * s["num_keys"] * 4),
       "DSA lightning indexer: score[s] = sum_h w_h * relu(q_h . k_s) over all cached keys; "
       "intermediate=1 counts the [heads, keys] fp32 logits a plain PyTorch version writes "
       "and reads back twice",
       intermediate=0),
    _k("block_pool", "elementwise", ("batch", "num_keys", "block_size", "head_dim"),
       lambda s: s["batch"] * s["num_keys"] * s["head_dim"],
       lambda s: s["batch"] * (s["num_keys"] + s["num_keys"] // max(1, s["block_size"]))
       * s["head_dim"] * s["elem_bytes"],
       "mean-pool keys per block (SeerAttention-R gate input)"),
    _k("page_minmax", "elementwise", ("batch", "num_keys", "page_size", "head_dim"),
       lambda s: 2 * s["batch"] * s["num_keys"] * s["head_dim"],
       lambda s: s["batch"] * (s["num_keys"] + 2 * (s["num_keys"] // max(1, s["page_size"])))
       * s["head_dim"] * s["elem_bytes"],
       "per-page element-wise min and max of keys (Quest/LServe metadata)"),
    _k("page_bound_score", "reduction", ("batch", "num_pages", "head_dim"),
       lambda s: 4 * s["batch"] * s["num_pages"] * s["head_dim"],
       lambda s: s["batch"] * (2 * s["num_pages"] * s["head_dim"] * s["elem_bytes"]
                               + s["num_pages"] * 4),
       "Quest upper bound sum_d max(q_d*kmin_d, q_d*kmax_d) per page",
       hints=("num_keys", "num_memories")),
    _k("inner_product_score", "reduction", ("batch", "num_items", "dim"),
       _score_flop, _score_bytes,
       "dense retrieval / block-gate scores q . m_i over a memory of num_items vectors; "
       "shared_memory_factor=batch when each query has its own memory",
       hints=("num_keys", "head_dim", "num_memories"), shared_memory_factor=1),
    _k("bm25_score", "gather", ("num_postings", "num_docs", "num_terms"),
       lambda s: 6 * s["num_postings"],
       lambda s: s["num_postings"] * 8 + s["num_docs"] * 4 * 2 + s["num_terms"] * 8,
       "BM25 over an inverted index: per posting (doc id, tf) read, score accumulated per doc",
       hints=("doc_tokens", "num_queries")),
    _k("topk", "topk", ("batch", "num_items", "k"),
       lambda s: s["batch"] * s["num_items"],
       lambda s: s["batch"] * (s["num_items"] * 4 + s["k"] * 8),
       "select the k largest fp32 scores of num_items, output (index, score)",
       at_most={"k": "num_items"}),
    _k("threshold_bitmap", "elementwise", ("batch", "num_items"),
       lambda s: s["batch"] * s["num_items"],
       lambda s: s["batch"] * (s["num_items"] * 4 + (s["num_items"] + 7) // 8),
       "score > threshold as a packed bitmap"),
    _k("kv_gather", "gather", ("batch", "num_selected", "row_elems"),
       lambda s: 0,
       lambda s: 2 * s["batch"] * s["num_selected"] * s["row_elems"] * s["elem_bytes"]
       + s["batch"] * s["num_selected"] * 4,
       "gather selected KV rows into a contiguous buffer"),
    _k("dense_attention", "attention",
       ("batch", "num_heads", "num_kv_heads", "head_dim", "num_keys", "num_queries"),
       lambda s: 4 * s["batch"] * s["num_heads"] * s["num_queries"] * s["num_keys"] * s["head_dim"],
       lambda s: s["batch"] * (2 * s["num_keys"] * s["num_kv_heads"] * s["head_dim"]
                               + 2 * s["num_queries"] * s["num_heads"] * s["head_dim"])
       * s["elem_bytes"],
       "softmax(q K^T / sqrt(d)) V over all cached keys (flash-style, no score matrix in HBM)"),
    _k("sparse_attention", "attention", ("batch", "num_heads", "num_selected", "kv_dim", "v_dim"),
       lambda s: 2 * s["batch"] * s["num_heads"] * s["num_selected"] * (s["kv_dim"] + s["v_dim"]),
       lambda s: s["batch"] * (s["num_selected"] * (s["kv_dim"] * s["elem_bytes"] + 4)
                               + s["num_heads"] * (s["kv_dim"] + s["v_dim"]) * s["elem_bytes"]
                               + s["materialised"] * 2 * s["num_selected"] * s["kv_dim"]
                               * s["elem_bytes"]),
       "attention over num_selected gathered KV rows (MLA latent rows of kv_dim elements); "
       "materialised=1 counts an unfused version's gathered copy of the rows (written, read back)",
       materialised=0),
    _k("router", "gemv", ("tokens", "hidden", "num_experts"),
       lambda s: 2 * s["tokens"] * s["hidden"] * s["num_experts"],
       lambda s: (s["hidden"] * s["num_experts"] + s["tokens"] * (s["hidden"] + s["num_experts"]))
       * s["elem_bytes"],
       "MoE router logits (then top-k experts)", regime_of=_unit_dim("tokens", "num_experts")),
    _k("expert_ffn", "gemm", ("tokens", "hidden", "intermediate", "num_active"),
       lambda s: 6 * s["tokens"] * s["hidden"] * s["intermediate"] * s["num_active"],
       lambda s: 3 * s["hidden"] * s["intermediate"] * s["num_active"] * s["elem_bytes"]
       + 2 * s["tokens"] * s["hidden"] * s["elem_bytes"],
       "SwiGLU expert FFNs of num_active experts (weights read once)"),
    _k("embedding_gather", "gather", ("num_rows", "row_elems"),
       lambda s: 0,
       lambda s: 2 * s["num_rows"] * s["row_elems"] * s["elem_bytes"],
       "random row gathers from an embedding table (Engram n-gram memory)"),
    _k("elementwise", "elementwise", ("num_elems",),
       lambda s: s["num_elems"],
       lambda s: (s["inputs"] + 1) * s["num_elems"] * s["elem_bytes"],
       "elementwise op over `inputs` tensors (binary by default: two reads, one write; "
       "inputs=1 for a unary op or a tensor-scalar op such as x + 1.5)",
       inputs=2),
    _k("pow", "elementwise", ("num_elems",),
       lambda s: s["flop_per_elem"] * s["num_elems"],
       lambda s: (s["inputs"] + 1) * s["num_elems"] * s["elem_bytes"],
       "elementwise power x ** y (torch.pow) over `inputs` tensors (inputs=1: a scalar "
       "exponent): counted as `flop_per_elem` vector operations per element (1 by default, as "
       "elementwise; a stack sets the library's count where pow is compute-bound)",
       inputs=2, flop_per_elem=1),
    _k("bmm", "gemm", ("batch", "m", "n", "k"),
       lambda s: 2 * s["batch"] * s["m"] * s["n"] * s["k"],
       lambda s: s["batch"] * (s["m"] * s["k"] + s["k"] * s["n"] + s["m"] * s["n"]) * s["elem_bytes"],
       "batched C[b,m,n] = A[b,m,k] @ B[b,k,n] (torch.bmm): batch GEMMs of their own operands "
       "in one launch, whose output tiles share the waves; `nn` the operand layout as gemm",
       choices={"nn": GEMM_LAYOUT}, regime_of=_unit_dim("m", "n", "batch"), nn=0),
    _k("softmax", "elementwise", ("rows", "cols"),
       lambda s: 5 * s["rows"] * s["cols"],
       lambda s: (s["reads"] + 1) * s["rows"] * s["cols"] * s["elem_bytes"],
       "softmax over the last dim of a [rows, cols] tensor: the input read `reads` times "
       "(1: the row held on chip; a stack sets more for multi-pass kernels), the output written "
       "once (max, exp, sum and scale per element)", reads=1),
    _k("layernorm", "elementwise", ("rows", "cols"),
       lambda s: 8 * s["rows"] * s["cols"],
       lambda s: ((s["reads"] + 1) * s["rows"] * s["cols"] + 2 * s["cols"]) * s["elem_bytes"]
       + 2 * s["rows"] * 4,
       "LayerNorm over the last dim of a [rows, cols] tensor: input read `reads` times (as "
       "softmax) and output written once, weight and bias read, fp32 mean and rstd per row "
       "written", reads=1),
]



# Kernels of the workload library (hetsim/workloads/): MoE routed experts, block-gate scores,
# Engram lookups.
_SPECS += [
    _k("moe_experts", "gemm", ("tokens", "hidden", "intermediate", "top_k", "experts_touched"),
       lambda s: 6 * s["tokens"] * s["top_k"] * s["hidden"] * s["intermediate"],
       lambda s: 3 * s["hidden"] * s["intermediate"] * s["experts_touched"] * s["elem_bytes"]
       + 2 * s["tokens"] * s["top_k"] * s["hidden"] * s["elem_bytes"],
       "routed SwiGLU experts: each token through top_k experts; the weights of every touched "
       "expert read once, each token's hidden state dispatched and combined per expert"),
    _k("block_gate_score", "reduction", ("batch", "num_items", "dim"),
       _score_flop, _score_bytes,
       "SeerAttention-R gate scores q . k_pool over pooled block keys, for threshold selection "
       "(same work as inner_product_score; no FPGA design streams it into a bitmap)",
       hints=("num_keys", "head_dim", "num_memories"), shared_memory_factor=1),
    _k("engram_gather", "gather", ("num_tokens", "num_heads", "row_elems"),
       lambda s: 2 * s["num_tokens"] * s["num_heads"],
       lambda s: s["num_tokens"] * (4 + 2 * s["num_heads"] * s["row_elems"] * s["elem_bytes"]),
       "Engram lookup: hash each token's n-grams (one row per head) and gather the rows from "
       "the embedding tables (random rows, read + written)"),
    # a run of `steps` sequential decode tokens collapsed into one task (MemAgent's memory
    # rewrite): totals of FLOP and bytes are exact, the steps run back to back
    _k("gemv_steps", "gemv", ("steps", "m", "k", "n"),
       lambda s: 2 * s["steps"] * s["m"] * s["k"] * s["n"],
       lambda s: s["steps"] * (s["m"] * s["k"] + s["k"] * s["n"] + s["m"] * s["n"]) * s["elem_bytes"],
       "steps sequential C[m,n] = A[m,k] @ W[k,n] (one decode token each): W read every step"),
    _k("attention_steps", "attention",
       ("batch", "num_heads", "num_kv_heads", "head_dim", "start_keys", "steps"),
       lambda s: 4 * s["batch"] * s["num_heads"] * s["head_dim"]
       * (s["steps"] * s["start_keys"] + s["steps"] * (s["steps"] + 1) // 2),
       lambda s: s["batch"] * s["elem_bytes"] * (
           2 * s["num_kv_heads"] * s["head_dim"] * (s["steps"] * s["start_keys"] + s["steps"] * (s["steps"] + 1) // 2)
           + 2 * s["steps"] * s["num_heads"] * s["head_dim"]),
       "steps sequential decode attentions; step t (0-based) reads start_keys + t + 1 cached keys"),
]


def _fused(name: str, score: str, keys, items_key: str, doc: str) -> KernelSpec:
    """Relevancy scoring and top-k in one kernel: the scores stream into the top-k and never
    reach memory; the kernel writes only the k (index, score) pairs."""
    sc = next(x for x in _SPECS if x.name == score)
    tk = next(x for x in _SPECS if x.name == "topk")

    def topk_shape(s):
        return {"batch": s.get("batch", 1), "num_items": s[items_key], "k": s["k"]}

    def nbytes(s):
        base = {k: v for k, v in s.items() if k != "k"}
        b = sc.bytes_moved({**sc.defaults, **base})
        return b - topk_shape(s)["batch"] * s[items_key] * 4 + topk_shape(s)["batch"] * s["k"] * 8

    return KernelSpec(name, sc.kernel_class, tuple(keys),
                      lambda s: sc.flop({**sc.defaults, **{k: v for k, v in s.items() if k != "k"}})
                      + tk.flop(topk_shape(s)),
                      nbytes, dict(sc.defaults), doc, fused=True, hints=sc.hints,
                      at_most={"k": items_key})


_SPECS += [
    _fused("indexer_topk", "indexer_score", ("batch", "num_keys", "num_heads", "head_dim", "k"),
           "num_keys", "fused DSA indexer: weighted-ReLU scores streamed into a top-k"),
    _fused("inner_product_topk", "inner_product_score", ("batch", "num_items", "dim", "k"),
           "num_items", "fused inner-product scoring and top-k (dense retrieval, HMT)"),
    _fused("page_bound_topk", "page_bound_score", ("batch", "num_pages", "head_dim", "k"),
           "num_pages", "fused Quest/LServe page upper bounds and top pages"),
    _fused("bm25_topk", "bm25_score", ("num_postings", "num_docs", "num_terms", "k"),
           "num_docs", "fused BM25 scoring and top-k documents"),
]

#: name -> :class:`KernelSpec`; the single source of kernel definitions.
KERNELS: dict[str, KernelSpec] = {}
for _spec in _SPECS:
    if _spec.name in KERNELS:  # pragma: no cover - guards the literal above
        raise RuntimeError(f"duplicate kernel {_spec.name}")
    KERNELS[_spec.name] = _spec


def plain_kernels() -> dict[str, KernelSpec]:
    """Kernels every processor runs (the fused FPGA dataflow kernels left out); the ones the
    calibration harness times."""
    return {k: v for k, v in KERNELS.items() if not v.fused}


def get_kernel(name: str) -> KernelSpec:
    """Return the spec of kernel *name* or raise :class:`GraphError` listing the known ones."""
    try:
        return KERNELS[name]
    except KeyError:
        raise GraphError(f"unknown kernel {name!r}; known kernels: {', '.join(sorted(KERNELS))}") from None


def kernel_class(name: str, shape: Shape) -> str:
    """Return the efficiency class of a kernel call (a GEMM with m <= 8 is a GEMV)."""
    spec = get_kernel(name)
    if spec.name == "gemm" and shape.get("m", 0) <= 8:
        return "gemv"
    return spec.kernel_class
