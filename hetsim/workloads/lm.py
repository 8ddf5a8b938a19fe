"""The transformer frame every model-based workload shares: phases, steps, batches, layers.

A workload supplies one function, ``layer(c, prev) -> last``, that adds the tasks of one layer
for one *iteration* (a decode step or a prefill chunk) of one micro-batch; this module loops
it over layers, iterations and micro-batches and adds the LM head:

* **decode**: ``steps`` tokens per sequence; step ``s`` has ``context_len + s`` cached tokens
  before it, so every context-dependent shape is re-evaluated per step. Step ``s + 1`` starts
  from step ``s``'s LM head: a chain, so without micro-batching a multi-step run is exactly
  the sum of single steps at the matching contexts.
* **prefill**: the prompt of ``context_len`` tokens in chunks of ``prefill_chunk``; chunk
  ``c`` attends to everything read so far, and memory structures (index keys, pooled keys,
  page bounds, ...) are built chunk by chunk as the prompt is read.
* **micro-batches**: the batch is split into independent chains that a device may interleave
  (one micro-batch's FPGA work overlaps another's GPU work); each reads the weights again.

Task names: ``s{step}.`` or ``c{chunk}.``, then ``L{layer}.``, then ``mb{j}.`` when
micro-batched, then the task (``s0.L3.qkv``). Shapes count a chunk's queries against all keys
read so far (no causal halving inside a chunk).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, ClassVar, Literal, Optional

import networkx as nx
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..errors import ConfigError, GraphError
from ..graph import Step, add_data, add_edge, add_task, new_graph
from .knobs import Rule, only_on, only_with
from .models import ModelDims, resolve


#: most decode steps or prefill chunks one run may plan: every iteration is listed (and at
#: least one task per layer) before the size guard can answer, so a typo such as
#: ``steps: 1e20`` must be refused here rather than hang
MAX_ITERATIONS = 100_000


class LMParams(BaseModel):
    """Parameters shared by every model-based workload."""

    model_config = ConfigDict(extra="forbid", frozen=True, protected_namespaces=())

    model: str = Field("qwen3-8b", description="model preset (device_models/models/NAME.yaml)")
    phase: Literal["prefill", "decode"] = Field("decode", description="read the prompt or generate")
    context_len: int = Field(32768, ge=1, description="decode: cached tokens before the first "
                                                      "step; prefill: prompt tokens")
    steps: int = Field(1, ge=1, description="decode: tokens generated per sequence (context grows by one each)")
    prefill_chunk: int = Field(8192, ge=1, description="prefill: tokens per chunk")
    batch: int = Field(1, ge=1, description="sequences processed together")
    micro_batches: int = Field(1, ge=1, description="independent chains the batch is split into")
    lm_head: bool = Field(True, description="add the vocabulary projection after each step")
    elem_bytes: int = Field(2, ge=1, le=8, description="bytes per weight/activation/KV element")
    dtype: str = Field("bf16", description="datatype for the compute peak lookup")
    num_layers: Optional[int] = Field(None, ge=1, description="override the model's layer count")
    hidden_size: Optional[int] = Field(None, ge=1)
    num_heads: Optional[int] = Field(None, ge=1)
    num_kv_heads: Optional[int] = Field(None, ge=1)
    head_dim: Optional[int] = Field(None, ge=1)
    intermediate_size: Optional[int] = Field(None, ge=0, description="dense FFN width (0 = none)")
    vocab_size: Optional[int] = Field(None, ge=1)
    sliding_window: Optional[int] = Field(None, ge=0)

    #: knob -> when it has an effect (:mod:`hetsim.workloads.knobs`); subclasses extend it
    applies_when: ClassVar[dict[str, Rule]] = {
        "prefill_chunk": only_with("phase", "prefill"),
        "steps": only_with("phase", "decode"),
        "num_kv_heads": only_on("gqa"),  # MLA caches one latent row per token, not K/V heads
        "head_dim": only_on("gqa"),
        "vocab_size": only_with("lm_head", True),
    }

    #: the parameter that sets the tokens per prefill chunk (a workload that reads its prompt
    #: in its own units, HMT's segments or LaCT's TTT chunks, names its own)
    prefill_chunk_param: ClassVar[str] = "prefill_chunk"

    @model_validator(mode="after")
    def _bounded_plan(self):
        if self.steps > MAX_ITERATIONS:
            raise ValueError(f"steps = {self.steps:,}: at most {MAX_ITERATIONS:,} decode steps per run")
        per = self.prefill_chunk_param
        chunks = -(-self.context_len // getattr(self, per))
        if self.phase == "prefill" and chunks > MAX_ITERATIONS:
            raise ValueError(f"context_len / {per} = {chunks:,} prefill chunks: at most "
                             f"{MAX_ITERATIONS:,} per run; raise {per}")
        return self


@dataclass(frozen=True)
class Iteration:
    """One decode step or prefill chunk of one micro-batch."""

    kind: str  # "s" (decode step) or "c" (prefill chunk)
    index: int
    batch: int  # sequences in this micro-batch
    new_tokens: int  # tokens per sequence this iteration (1 in decode)
    pos: int  # tokens per sequence already cached before this iteration
    mb: int  # micro-batch index
    micro_batched: bool
    label: Step = Step.MODEL  # step of the layer tasks (Apply when they read retrieved text)
    head: bool = True  # an LM head follows (every decode step; the last prefill chunk)
    retrieve: int = 0  # workload-specific: items to retrieve before this iteration (RAG)

    @property
    def keys(self) -> int:
        return self.pos + self.new_tokens

    @property
    def rows(self) -> int:
        """Token rows through the dense projections (batch x new tokens)."""
        return self.batch * self.new_tokens

    def tag(self, layer: int | None) -> str:
        t = f"{self.kind}{self.index}."
        if layer is not None:
            t += f"L{layer}."
        return t + (f"mb{self.mb}." if self.micro_batched else "")


class Ctx:
    """Helpers for one (iteration, layer): names, GEMMs, attention, FFN."""

    def __init__(self, g: nx.DiGraph, p: LMParams, d: ModelDims, it: Iteration, layer: int | None,
                 mp_ffn: bool = False):
        self.g, self.p, self.d, self.it, self.layer = g, p, d, it, layer
        self.eb = p.elem_bytes
        self.mp_ffn = mp_ffn

    # --- names and plumbing
    def n(self, s: str) -> str:
        return self.it.tag(self.layer) + s

    def task(self, name: str, step: Step, kernel: str, shape: dict, *, data=(), dtype=None) -> str:
        return add_task(self.g, self.n(name), step, kernel, shape, dtype=dtype or self.p.dtype,
                        data=tuple(data), layer=self.layer)

    def edge(self, u: str, v: str, nbytes: int | float = 0) -> None:
        add_edge(self.g, u, v, int(nbytes))

    def gemm(self, name: str, k: int, n: int, step: Step | None = None, *, rows: int | None = None,
             data=("weights",), prev: str | None = None) -> str:
        m = self.it.rows if rows is None else rows
        t = self.task(name, step or self.it.label, "gemm", {"m": m, "k": k, "n": n, "elem_bytes": self.eb}, data=data)
        if prev is not None:
            self.edge(prev, t, m * k * self.eb)
        return t

    @property
    def hidden_bytes(self) -> int:
        return self.it.rows * self.d.hidden_size * self.eb

    # --- attention
    def window_keys(self, keys: int) -> int:
        w = self.d.window(self.layer or 0)
        return min(keys, w + self.it.new_tokens - 1) if w else keys

    def qkv(self, prev: str | None) -> str:
        """GQA: the fused q/k/v projection (writes the new K, V rows to the KV cache)."""
        d = self.d
        t = self.gemm("qkv", d.hidden_size, (d.num_heads + 2 * d.num_kv_heads) * d.head_dim,
                      data=("weights", "kv_cache"))
        if prev is not None:
            self.edge(prev, t, self.hidden_bytes)
        return t

    def attn(self, name: str, num_keys: int, step: Step | None = None, *, heads: int | None = None,
             kv_heads: int | None = None) -> str:
        """GQA attention of this iteration's queries over *num_keys* keys per sequence."""
        d = self.d
        return self.task(name, step or self.it.label, "dense_attention",
                         {"batch": self.it.batch, "num_heads": heads or d.num_heads,
                          "num_kv_heads": kv_heads or d.num_kv_heads, "head_dim": d.head_dim,
                          "num_keys": max(1, num_keys), "num_queries": self.it.new_tokens,
                          "elem_bytes": self.eb}, data=("kv_cache",))

    def o_proj(self, attn_out: list[str]) -> str:
        d = self.d
        t = self.gemm("o_proj", d.num_heads * d.head_dim, d.hidden_size)
        for a in attn_out:
            self.edge(a, t, self.it.rows * d.num_heads * d.head_dim * self.eb // len(attn_out))
        return t

    def gqa_block(self, prev: str | None, num_keys: int | None = None, step: Step | None = None) -> str:
        """Dense GQA attention block: qkv -> attention -> o_proj."""
        q = self.qkv(prev)
        a = self.attn("attn", self.window_keys(self.it.keys if num_keys is None else num_keys), step)
        self.edge(q, a, self.it.rows * (self.d.num_heads + 2 * self.d.num_kv_heads) * self.d.head_dim * self.eb)
        return self.o_proj([a])

    def mla_front(self, prev: str | None) -> dict[str, str]:
        """MLA projections up to the absorbed query; returns the task names by role."""
        d, m, eb, R = self.d, self.d.mla, self.eb, self.it.rows
        H = d.num_heads
        t = {
            "q_a": self.gemm("q_a_proj", d.hidden_size, m.q_lora_rank),
            "kv_a": self.gemm("kv_a_proj", d.hidden_size, m.kv_lora_rank + m.qk_rope_head_dim,
                              data=("weights", "kv_cache")),
        }
        t["q_b"] = self.gemm("q_b_proj", m.q_lora_rank, H * (m.qk_nope_head_dim + m.qk_rope_head_dim))
        t["q_abs"] = self.gemm("q_absorb", H * m.qk_nope_head_dim, m.kv_lora_rank)
        if prev is not None:
            self.edge(prev, t["q_a"], self.hidden_bytes)
            self.edge(prev, t["kv_a"], self.hidden_bytes)
        self.edge(t["q_a"], t["q_b"], R * m.q_lora_rank * eb)
        self.edge(t["q_b"], t["q_abs"], R * H * m.qk_nope_head_dim * eb)
        return t

    def mla_attn(self, name: str, front: dict[str, str], num_selected: int, step: Step) -> str:
        """Absorbed MLA attention over *num_selected* latent rows per query."""
        d, m, eb, R = self.d, self.d.mla, self.eb, self.it.rows
        a = self.task(name, step or self.it.label, "sparse_attention",
                      {"batch": R, "num_heads": d.num_heads, "num_selected": max(1, num_selected),
                       "kv_dim": m.kv_lora_rank + m.qk_rope_head_dim, "v_dim": m.kv_lora_rank,
                       "elem_bytes": eb}, data=("kv_cache",))
        self.edge(front["q_b"], a, R * d.num_heads * m.qk_rope_head_dim * eb)
        self.edge(front["q_abs"], a, R * d.num_heads * m.kv_lora_rank * eb)
        self.edge(front["kv_a"], a, R * (m.kv_lora_rank + m.qk_rope_head_dim) * eb)
        return a

    def mla_back(self, attn: str) -> str:
        d, m, eb, R = self.d, self.d.mla, self.eb, self.it.rows
        v = self.gemm("v_up", d.num_heads * m.kv_lora_rank, m.v_head_dim)
        self.edge(attn, v, R * d.num_heads * m.kv_lora_rank * eb)
        o = self.gemm("o_proj", d.num_heads * m.v_head_dim, d.hidden_size)
        self.edge(v, o, R * d.num_heads * m.v_head_dim * eb)
        return o

    def attention_block(self, prev: str | None, step: Step | None = None) -> str:
        """Dense attention of the model's kind (GQA or absorbed MLA) over the whole context."""
        if self.d.attention == "mla":
            f = self.mla_front(prev)
            return self.mla_back(self.mla_attn("attn", f, self.window_keys(self.it.keys), step))
        return self.gqa_block(prev, step=step)

    # --- FFN
    def ffn(self, prev: str) -> str:
        """The layer's FFN: MoE where the model has one, else dense SwiGLU (none at width 0)."""
        d = self.d
        if d.is_moe_layer(self.layer or 0):
            return self.moe(prev)
        if not d.intermediate_size:
            return prev
        up = self.gemm("mlp_up", d.hidden_size, 2 * d.intermediate_size, prev=prev)
        down = self.gemm("mlp_down", d.intermediate_size, d.hidden_size)
        self.edge(up, down, self.it.rows * d.intermediate_size * self.eb)
        return down

    def moe(self, prev: str) -> str:
        """Router -> top-k experts -> routed expert FFNs (+ shared experts).

        With ``mp_ffn`` the router is Compute Relevancy, the expert choice Retrieval and the
        routed experts Apply (the ``moe`` workload); otherwise all of it is Model.
        """
        d, m, eb, R = self.d, self.d.moe, self.eb, self.it.rows
        rel, ret, app = ((Step.COMPUTE_RELEVANCY, Step.RETRIEVAL, Step.APPLY_TO_INFERENCE)
                         if self.mp_ffn else (self.it.label,) * 3)
        r = self.task("router", rel, "router", {"tokens": R, "hidden": d.hidden_size,
                                                "num_experts": m.num_experts, "elem_bytes": eb},
                      data=("weights",))
        k = self.task("expert_topk", ret, "topk", {"batch": R, "num_items": m.num_experts, "k": m.top_k},
                      dtype="fp32")
        n = expert_shards(self.p)
        if n == 1:
            x = self.task("experts", app, "moe_experts",
                          {"tokens": R, "hidden": d.hidden_size, "intermediate": m.expert_intermediate,
                           "top_k": m.top_k, "experts_touched": experts_touched(R, m.num_experts, m.top_k),
                           "elem_bytes": eb}, data=("expert_weights",))
            self.edge(prev, r, self.hidden_bytes)
            self.edge(r, k, R * m.num_experts * 4)
            self.edge(k, x, R * m.top_k * 8)
            self.edge(prev, x, self.hidden_bytes)
        else:
            # N shards of E/N experts, each token routed to k/N experts of every shard (the
            # study's router picks top-k/2 per half); the shards' outputs are summed.
            es, ks = m.num_experts // n, m.top_k // n
            self.edge(prev, r, self.hidden_bytes)
            self.edge(r, k, R * m.num_experts * 4)
            # N - 1 binary adds combine the shards' partial outputs
            x = self.task("experts_sum", app, "elementwise",
                          {"num_elems": (n - 1) * R * d.hidden_size, "elem_bytes": eb})
            for i in range(n):
                xi = self.task(f"experts.{i}", app, "moe_experts",
                               {"tokens": R, "hidden": d.hidden_size, "intermediate": m.expert_intermediate,
                                "top_k": ks, "experts_touched": experts_touched(R, es, ks), "elem_bytes": eb},
                               data=(f"expert_weights.{i}",))
                self.edge(k, xi, R * ks * 8)
                self.edge(prev, xi, self.hidden_bytes)
                self.edge(xi, x, self.hidden_bytes)
        if not m.num_shared:
            return x
        s = self.task("shared_expert", self.it.label, "expert_ffn",
                      {"tokens": R, "hidden": d.hidden_size, "intermediate": m.expert_intermediate,
                       "num_active": m.num_shared, "elem_bytes": eb}, data=("weights",))
        self.edge(prev, s, self.hidden_bytes)
        self.edge(s, x, self.hidden_bytes)  # the routed output is added to the shared one
        return x


def expert_shards(p: LMParams) -> int:
    """Shards the routed experts' weights are split into (``moe``'s ``expert_shards``; 1 for
    workloads that have no such parameter)."""
    return int(getattr(p, "expert_shards", 1))


def experts_touched(tokens: int, experts: int, k: int) -> int:
    """Expected distinct experts that *tokens* tokens, each routed to *k* of *experts*
    uniformly, touch: E (1 - (1 - k/E)^N), rounded up (each touched expert's weights are read)."""
    return max(k, min(experts, math.ceil(experts * (1 - (1 - k / experts) ** tokens) - 1e-9)))


def micro_batch_sizes(p: LMParams) -> list[int]:
    if p.micro_batches > p.batch:
        raise ConfigError(f"micro_batches={p.micro_batches} exceeds batch={p.batch}",
                          field="workload.params.micro_batches")
    return [p.batch // p.micro_batches + (1 if j < p.batch % p.micro_batches else 0)
            for j in range(p.micro_batches)]


def iterations(p: LMParams, b: int, j: int) -> list[Iteration]:
    """The decode steps or prefill chunks of micro-batch *j* (of *b* sequences)."""
    mb = p.micro_batches > 1
    if p.phase == "decode":
        return [Iteration("s", s, b, 1, p.context_len + s, j, mb) for s in range(p.steps)]
    out, pos, c = [], 0, 0
    while pos < p.context_len:
        t = min(p.prefill_chunk, p.context_len - pos)
        out.append(Iteration("c", c, b, t, pos, j, mb, head=pos + t >= p.context_len))
        pos, c = pos + t, c + 1
    return out


def final_context(p: LMParams) -> int:
    return p.context_len + (p.steps if p.phase == "decode" else 0)


def layer_weight_elems(d: ModelDims) -> int:
    """Dense (non-expert) weights of one layer."""
    if d.attention == "mla":
        m, H = d.mla, d.num_heads
        attn = (d.hidden_size * m.q_lora_rank + m.q_lora_rank * H * (m.qk_nope_head_dim + m.qk_rope_head_dim)
                + d.hidden_size * (m.kv_lora_rank + m.qk_rope_head_dim) + H * m.qk_nope_head_dim * m.kv_lora_rank
                + H * m.kv_lora_rank * m.v_head_dim + H * m.v_head_dim * d.hidden_size)
    else:
        attn = d.hidden_size * (d.num_heads + 2 * d.num_kv_heads) * d.head_dim + d.num_heads * d.head_dim * d.hidden_size
    return attn


def declare_model_data(g: nx.DiGraph, p: LMParams, d: ModelDims, ctx_tokens: int | None = None,
                       ffn: bool = True) -> None:
    """Weights (FFN and expert weights unless *ffn* is False) and the KV cache sized for the
    final context."""
    eb, L = p.elem_bytes, d.num_layers
    w = layer_weight_elems(d) * L + (d.vocab_size * d.hidden_size if p.lm_head else 0)
    experts = 0
    for i in range(L if ffn else 0):
        if d.is_moe_layer(i):
            m = d.moe
            w += d.hidden_size * m.num_experts + 3 * d.hidden_size * m.expert_intermediate * m.num_shared
            experts += 3 * d.hidden_size * m.expert_intermediate * m.num_experts
        else:
            w += 3 * d.hidden_size * d.intermediate_size
    add_data(g, "weights", w * eb)
    n = expert_shards(p)
    if experts and n == 1:
        add_data(g, "expert_weights", experts * eb)
    elif experts:  # E/N experts per shard, every layer's share of them in one resident item
        for i in range(n):
            add_data(g, f"expert_weights.{i}", experts * eb // n)
    ctx = final_context(p) if ctx_tokens is None else ctx_tokens
    add_data(g, "kv_cache", p.batch * ctx * d.kv_row_elems * eb * L)


LayerFn = Callable[[Ctx, Optional[str]], str]


def build_lm(p: LMParams, title: str, layer: LayerFn, *, data: Callable | None = None,
             before: Callable | None = None, mp_ffn: bool = False,
             dims: ModelDims | None = None, plan: Callable | None = None, ffn: bool = True) -> nx.DiGraph:
    """Build the graph: for each micro-batch, iterations x layers of *layer*, then the LM head.

    *data(g, p, d)* declares the workload's memory structures; *before(c, prev) -> prev* adds
    per-iteration tasks ahead of layer 0 (a retrieval, a memory search); *mp_ffn* labels an
    MoE FFN as memory processing (router, expert choice, experts); *plan(p, b, j)* replaces
    :func:`iterations` (a workload that interleaves its own iterations); *ffn* False leaves
    the FFN weights out of the resident data (a workload that omits the FFN).
    """
    d = dims or resolve(p)
    sizes = micro_batch_sizes(p)
    g = new_graph(f"{title}({d.name}, {p.phase}, L={p.context_len}, steps={p.steps}, batch={p.batch}, "
                  f"layers={d.num_layers})")
    g.graph["tokens"] = p.batch * (p.steps if p.phase == "decode" else p.context_len)
    declare_model_data(g, p, d, ffn=ffn)
    if data is not None:
        data(g, p, d)
    for j, b in enumerate(sizes):
        prev: str | None = None
        its = (plan or iterations)(p, b, j)
        for it in its:
            if before is not None:
                prev = before(Ctx(g, p, d, it, None, mp_ffn), prev)
            for i in range(d.num_layers):
                prev = layer(Ctx(g, p, d, it, i, mp_ffn), prev)
            if p.lm_head and it.head:
                c = Ctx(g, p, d, it, None, mp_ffn)
                prev = c.gemm("lm_head", d.hidden_size, d.vocab_size, rows=it.batch, prev=prev)
    return g


def ffn_tasks(d: ModelDims, i: int) -> int:
    """Tasks :meth:`Ctx.ffn` adds to layer *i*."""
    if d.is_moe_layer(i):
        return 3 + (d.moe.num_shared > 0)
    return 2 if d.intermediate_size else 0


def attention_tasks(d: ModelDims) -> int:
    """Tasks :meth:`Ctx.attention_block` adds (absorbed MLA: 7; GQA: 3)."""
    return 7 if d.attention == "mla" else 3


#: most layers a model of the library may have: the size guard counts tasks layer by layer
#: (a fraction of a second at this size), and without fast-forward every layer is at least one task,
#: far above any ``run.max_tasks`` that can be built
MAX_LAYERS = 100_000


def check_layers(d: ModelDims) -> None:
    """Refuse a model with more than :data:`MAX_LAYERS` layers (task counts walk the layers)."""
    if d.num_layers > MAX_LAYERS:
        raise GraphError(f"the model has {d.num_layers:,} layers; at most {MAX_LAYERS:,} can be sized "
                         "or built (the presets have 16-61); lower num_layers")


#: the size guard lists a workload's plan (to find its longest context) only up to this many
#: estimated tasks; above it the task limit answers first (each iteration is >= 1 task per layer)
CONTEXT_SCAN_TASKS = 1_000_000


def context_data(p: LMParams, plan: Callable | None = None) -> dict[str, int]:
    """The KV cache at the longest context any iteration attends over, for the size guard.

    Why: the resident ``kv_cache`` a graph declares is sized for ``context_len`` (+ decode
    steps); tokens a workload adds on the way (RAG's retrieved documents, MemAgent's memory
    and question) were checked nowhere, so ``doc_tokens: 1e20`` ran to a makespan of 1e34 s.
    Every token a sequence attends over is cached, so this is what the run touches.
    """
    d = resolve(p)
    keys = max((it.keys for it in (plan or iterations)(p, 1, 0)), default=0)
    return {"kv_cache": p.batch * keys * d.kv_row_elems * p.elem_bytes * d.num_layers}


def estimate_tasks(p: LMParams, per_layer, per_iteration: int = 0) -> int:
    """Cheap task count (no graph built): micro-batches x iterations x (sum over layers of
    ``per_layer(dims, i)`` (or a constant) + per_iteration) + LM heads."""
    d = resolve(p)
    check_layers(d)
    n_it = p.steps if p.phase == "decode" else math.ceil(p.context_len / p.prefill_chunk)
    head = (n_it if p.phase == "decode" else 1) if p.lm_head else 0
    layers = sum(per_layer(d, i) if callable(per_layer) else per_layer for i in range(d.num_layers))
    return p.micro_batches * (n_it * (layers + per_iteration) + head)
