"""Model presets: the shapes of real LLMs, read from ``device_models/models/<name>.yaml``.

Why data and not code: every dimension must carry its source (the model's published
``config.json``), and a user adds a model by dropping a file next to the built-in ones (or in a
``HETSIM_DEVICE_MODELS`` directory). A workload takes ``model: NAME`` and may override any
dimension; :func:`resolve` merges the two into one :class:`ModelDims`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .. import catalog
from ..errors import ConfigError

_REQUIRED = ("attention", "num_layers", "hidden_size", "num_heads", "num_kv_heads", "head_dim",
             "intermediate_size", "vocab_size")
#: section dimensions that must be >= 1 (the others, e.g. moe.num_shared, may be 0)
_POSITIVE = {"num_experts", "top_k", "expert_intermediate", "kv_lora_rank", "index_num_heads",
             "index_head_dim", "index_topk"}


@dataclass(frozen=True)
class Mla:
    """Multi-head latent attention (DeepSeek): low-rank q and a shared latent KV row."""

    q_lora_rank: int
    kv_lora_rank: int
    qk_rope_head_dim: int
    qk_nope_head_dim: int
    v_head_dim: int


@dataclass(frozen=True)
class Dsa:
    """DeepSeek Sparse Attention's lightning indexer."""

    index_num_heads: int
    index_head_dim: int
    index_topk: int


@dataclass(frozen=True)
class Moe:
    """Routed experts of a mixture-of-experts FFN."""

    num_experts: int
    top_k: int
    num_shared: int
    expert_intermediate: int
    first_dense_layers: int


@dataclass(frozen=True)
class ModelDims:
    """Resolved model shape (elements, not bytes)."""

    name: str
    attention: str  # "gqa" or "mla"
    num_layers: int
    hidden_size: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    intermediate_size: int
    vocab_size: int
    sliding_window: int = 0  # > 0: every even layer attends only this many recent tokens
    mla: Mla | None = None
    dsa: Dsa | None = None
    moe: Moe | None = None
    dtypes: tuple[tuple[str, str], ...] = ()

    @property
    def kv_row_elems(self) -> int:
        """KV-cache elements stored per token per layer."""
        if self.attention == "mla" and self.mla:
            return self.mla.kv_lora_rank + self.mla.qk_rope_head_dim
        return 2 * self.num_kv_heads * self.head_dim

    def is_moe_layer(self, i: int) -> bool:
        return self.moe is not None and i >= self.moe.first_dense_layers

    def window(self, i: int) -> int:
        """Attention window of layer *i* (0 = the whole context)."""
        return self.sliding_window if self.sliding_window and i % 2 == 0 else 0


def model_names() -> list[str]:
    """Names of the model presets."""
    return catalog.preset_names("models")


def load_model(name: str) -> ModelDims:
    """Return preset *name* (ConfigError naming the file and field on a bad file)."""
    paths = catalog._scan("models")
    if name not in paths:
        raise ConfigError(f"unknown model {name!r}; known: {', '.join(sorted(paths)) or 'none'}",
                          field="workload.params.model")
    pre = catalog.load_preset("models", name)
    raw, file = pre.raw, str(pre.path)
    if not pre.sources or raw.get("source") not in pre.sources:
        raise ConfigError("a model preset needs 'sources' and a 'source' id citing its config",
                          file=file, field="source")
    for k in _REQUIRED:
        if k not in raw:
            raise ConfigError("required field is missing", file=file, field=k)
    if raw["attention"] not in ("gqa", "mla"):
        raise ConfigError(f"attention {raw['attention']!r}; allowed: gqa, mla", file=file, field="attention")

    def count(value, field: str, low: int) -> int:
        """A dimension: an integer >= *low* (a user's preset may hold anything)."""
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(f"must be an integer >= {low}, got {value!r}", file=file, field=field)
        return value

    def sub(cls, key):
        if raw.get(key) is None:
            return None
        if not isinstance(raw[key], dict):
            raise ConfigError("must be a mapping", file=file, field=key)
        try:
            return cls(**{k: count(v, f"{key}.{k}", 1 if k in _POSITIVE else 0) for k, v in raw[key].items()})
        except TypeError as e:
            raise ConfigError(f"bad section: {e}", file=file, field=key) from None

    return ModelDims(
        name=name, attention=raw["attention"],
        **{k: count(raw[k], k, 0 if k == "intermediate_size" else 1) for k in _REQUIRED if k != "attention"},
        sliding_window=count(raw.get("sliding_window", 0), "sliding_window", 0),
        mla=sub(Mla, "mla"), dsa=sub(Dsa, "dsa"), moe=sub(Moe, "moe"),
        dtypes=tuple(sorted((str(k), str(v)) for k, v in (raw.get("dtypes") or {}).items())))


#: workload parameter -> ModelDims field it overrides
OVERRIDES = ("num_layers", "hidden_size", "num_heads", "num_kv_heads", "head_dim",
             "intermediate_size", "vocab_size", "sliding_window")


def resolve(p) -> ModelDims:
    """The preset named by ``p.model`` with every non-None override of *p* applied."""
    dims = load_model(p.model)
    upd = {k: getattr(p, k) for k in OVERRIDES if getattr(p, k, None) is not None}
    moe = dims.moe
    if moe is not None:
        mupd = {k: getattr(p, f) for k, f in (("num_experts", "num_experts"), ("top_k", "experts_top_k"),
                                               ("expert_intermediate", "expert_intermediate"))
                if getattr(p, f, None) is not None}
        moe = replace(moe, **mupd)
    return replace(dims, moe=moe, **upd)
