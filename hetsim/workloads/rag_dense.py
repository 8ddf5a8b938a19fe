"""A RAG query: score a document memory (dense embeddings or BM25), take the top-k, prefill.

* Prepare Memory happened offline: the document embeddings (``num_docs x embed_dim``) are
  resident data.
* Compute Relevancy: project the query into the embedding space and score every document
  (inner product), or, with ``retriever: bm25``, walk the query terms' posting lists of an
  inverted index (BM25 with IDF and length normalisation).
* Retrieval: top-k documents.
* Apply to Inference: gather the token embeddings of the retrieved documents plus the query
  and prefill them through the model (QKV, attention, output projection, gated MLP per layer);
  then ``decode_tokens`` decode steps (Model).

Defaults: 1M documents of 768-dim embeddings (a BERT-base-sized encoder), top-8 documents of
128 tokens, a Llama-2-7B-shaped model (hidden 4096, 32 heads, MLP 11008, 32 layers).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..graph import Step, add_data, add_edge, add_task, new_graph
from .knobs import Rule, only_with

DESCRIPTION = ("RAG query: dense inner-product or BM25 scores over a document memory, top-k, "
               "prefill and decode")


class RagDenseParams(BaseModel):
    """Parameters of :func:`build`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    retriever: Literal["dense", "bm25"] = Field("dense", description="how documents are scored")
    num_docs: int = Field(1_000_000, ge=1)
    query_terms: int = Field(8, ge=1, description="(bm25) distinct query terms")
    postings_per_term: int = Field(20_000, ge=1, description="(bm25) average posting-list length")
    embed_dim: int = Field(768, ge=1)
    top_k: int = Field(8, ge=1)
    doc_tokens: int = Field(128, ge=1, description="tokens per retrieved document")
    query_tokens: int = Field(32, ge=1)
    decode_tokens: int = Field(0, ge=0, description="decode steps after the prefill")
    hidden_size: int = Field(4096, ge=1)
    num_heads: int = Field(32, ge=1)
    num_kv_heads: int = Field(32, ge=1)
    intermediate_size: int = Field(11008, ge=1)
    num_layers: int = Field(32, ge=1)
    vocab_size: int = Field(32000, ge=1)
    elem_bytes: int = Field(2, ge=1, le=8)
    dtype: str = "bf16"

    applies_when: ClassVar[dict[str, Rule]] = {
        "embed_dim": only_with("retriever", "dense"),
        "query_terms": only_with("retriever", "bm25"),
        "postings_per_term": only_with("retriever", "bm25"),
    }


def resident_data(p: RagDenseParams) -> dict[str, int]:
    """Resident structures and their sizes in B (used by :func:`build` and :func:`estimate`)."""
    eb, H = p.elem_bytes, p.hidden_size
    head_dim = H // p.num_heads
    T = min(p.top_k, p.num_docs) * p.doc_tokens + p.query_tokens
    layer_w = H * (H + 2 * p.num_kv_heads * head_dim) + H * H + 3 * H * p.intermediate_size
    out = {"weights": (layer_w * p.num_layers + p.vocab_size * H) * eb,
           "kv_cache": 2 * p.num_layers * (T + p.decode_tokens) * p.num_kv_heads * head_dim * eb}
    if p.retriever == "dense":
        out["doc_embeddings"] = p.num_docs * p.embed_dim * eb
    else:
        # posting (doc id, tf) 8 B each plus per-document length and score arrays
        out["inverted_index"] = p.query_terms * p.postings_per_term * 8 + p.num_docs * 8
    return out


def estimate(p: RagDenseParams) -> tuple[int, dict[str, int]]:
    """(task count, resident data) of :func:`build`, without building (size guard)."""
    scoring = 2 if p.retriever == "dense" else 1
    return scoring + 2 + 5 * p.num_layers * (1 + p.decode_tokens), resident_data(p)


def build(p: RagDenseParams):
    """Return the task graph of one query."""
    g = new_graph(f"rag_dense(docs={p.num_docs}, k={p.top_k}, layers={p.num_layers})")
    g.graph["tokens"] = max(1, p.decode_tokens)
    eb, H, D = p.elem_bytes, p.hidden_size, p.embed_dim
    head_dim = H // p.num_heads
    k = min(p.top_k, p.num_docs)
    T = k * p.doc_tokens + p.query_tokens
    for name, size in resident_data(p).items():
        add_data(g, name, size)
    if p.retriever == "dense":
        add_task(g, "query_proj", Step.COMPUTE_RELEVANCY, "gemm",
                 {"m": 1, "k": D, "n": D, "elem_bytes": eb}, dtype=p.dtype)
        add_task(g, "score", Step.COMPUTE_RELEVANCY, "inner_product_score",
                 {"batch": 1, "num_items": p.num_docs, "dim": D, "elem_bytes": eb}, dtype=p.dtype,
                 data=("doc_embeddings",))
        add_edge(g, "query_proj", "score", D * eb)
    else:
        postings = p.query_terms * p.postings_per_term
        add_task(g, "score", Step.COMPUTE_RELEVANCY, "bm25_score",
                 {"num_postings": postings, "num_docs": p.num_docs, "num_terms": p.query_terms},
                 dtype="fp32", data=("inverted_index",))
    add_task(g, "topk", Step.RETRIEVAL, "topk", {"batch": 1, "num_items": p.num_docs, "k": k}, dtype="fp32")
    add_task(g, "embed_context", Step.APPLY_TO_INFERENCE, "embedding_gather",
             {"num_rows": T, "row_elems": H, "elem_bytes": eb}, dtype=p.dtype, data=("weights",))
    add_edge(g, "score", "topk", p.num_docs * 4)
    add_edge(g, "topk", "embed_context", k * 8)
    prev = "embed_context"
    for phase, tokens, keys, step in _phases(p, T):
        for i in range(p.num_layers):
            t = f"{phase}.L{i}."
            kvh = p.num_kv_heads * head_dim
            add_task(g, t + "qkv", step, "gemm", {"m": tokens, "k": H, "n": H + 2 * kvh, "elem_bytes": eb},
                     dtype=p.dtype, data=("weights", "kv_cache"), layer=i)
            add_task(g, t + "attn", step, "dense_attention",
                     {"batch": 1, "num_heads": p.num_heads, "num_kv_heads": p.num_kv_heads,
                      "head_dim": head_dim, "num_keys": keys, "num_queries": tokens, "elem_bytes": eb},
                     dtype=p.dtype, data=("kv_cache",), layer=i)
            add_task(g, t + "o_proj", step, "gemm", {"m": tokens, "k": H, "n": H, "elem_bytes": eb},
                     dtype=p.dtype, data=("weights",), layer=i)
            add_task(g, t + "mlp_up", step, "gemm",
                     {"m": tokens, "k": H, "n": 2 * p.intermediate_size, "elem_bytes": eb},
                     dtype=p.dtype, data=("weights",), layer=i)
            add_task(g, t + "mlp_down", step, "gemm",
                     {"m": tokens, "k": p.intermediate_size, "n": H, "elem_bytes": eb},
                     dtype=p.dtype, data=("weights",), layer=i)
            add_edge(g, prev, t + "qkv", tokens * H * eb)
            add_edge(g, t + "qkv", t + "attn", tokens * (H + 2 * kvh) * eb)
            add_edge(g, t + "attn", t + "o_proj", tokens * H * eb)
            add_edge(g, t + "o_proj", t + "mlp_up", tokens * H * eb)
            add_edge(g, t + "mlp_up", t + "mlp_down", tokens * p.intermediate_size * eb)
            prev = t + "mlp_down"
    return g


def _phases(p: RagDenseParams, T: int):
    yield "prefill", T, T, Step.APPLY_TO_INFERENCE
    for j in range(p.decode_tokens):
        yield f"decode{j}", 1, T + j + 1, Step.MODEL
