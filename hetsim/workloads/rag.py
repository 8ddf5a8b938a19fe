"""Retrieval-augmented generation with FLARE-style re-retrieval, on any model preset.

* **Prepare Memory** (reported apart): with ``index_build: true`` the graph is the offline
  build of the document memory alone -- encoding every document into an embedding (dense) or
  counting terms into an inverted index (BM25) -- so its cost is not mixed into a query's.
* **Compute Relevancy**: encode the query (dense: ``q_encode``) and score every document
  (``score``: inner products over ``num_docs x embed_dim``, or BM25 over the query terms'
  posting lists).
* **Retrieval**: the top-k documents (``topk``).
* **Apply to Inference**: gather the retrieved documents' token embeddings (``doc_embed``)
  and prefill them through every layer at the current position (``r{step}.L{i}.*``), then
  decode. With ``reretrieve_every: N`` the generator retrieves ``reretrieve_top_k`` more
  documents every N generated tokens and prefills them before continuing (FLARE, Jiang et al.
  2023, re-retrieves when a sentence is about to be generated; the study's ``rag_test``
  ``fix-sentence`` mode re-retrieves after each sentence with k = 3).

``context_len`` is what the generator already holds (decode) or the prompt it reads
(prefill: the retrieved documents are prefilled first, then the prompt). Defaults follow the
study's RAG setup: Llama-3.2-1B generator, initial top-64 documents (here of 128 tokens),
re-retrieval k = 3 (shared/reference/heterollm.md section 4). The study ran BM25 scoring + top-64
on the U55C and generation on the GPU (vLLM).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from ..graph import Step, add_data, add_edge, add_task, new_graph
from .knobs import Rule, every, only_if_positive, only_with
from .lm import Ctx, Iteration, LMParams, build_lm, check_layers
from .models import resolve

DESCRIPTION = ("RAG: dense or BM25 retrieval, top-k documents prefilled, FLARE-style re-retrieval "
               "every N generated tokens; index build reported apart")


_QUERY = only_with("index_build", False)  # a knob of the queries, not of the index build


class RagParams(LMParams):
    """Parameters of :func:`build`."""

    model: str = Field("llama-3.2-1b", description="generator model preset")
    retriever: Literal["dense", "bm25"] = Field("bm25", description="how documents are scored")
    num_docs: int = Field(1_000_000, ge=1)
    embed_dim: int = Field(768, ge=1, description="(dense) document embedding width")
    query_tokens: int = Field(32, ge=1, description="(dense) tokens of the query text encoded")
    query_terms: int = Field(8, ge=1, description="(bm25) distinct query terms")
    postings_per_term: int = Field(20_000, ge=1, description="(bm25) average posting-list length")
    doc_tokens: int = Field(128, ge=1, description="tokens per document")
    top_k: int = Field(64, ge=1, description="documents retrieved before generation")
    reretrieve_every: int = Field(0, ge=0, description="FLARE: re-retrieve every N generated tokens (0 = never)")
    reretrieve_top_k: int = Field(3, ge=1, description="documents per re-retrieval")
    index_build: bool = Field(False, description="build the document memory instead (Prepare Memory, reported apart)")
    index_chunks: int = Field(8, ge=1, description="(index_build) tasks the corpus is split into")

    applies_when: ClassVar[dict[str, Rule]] = {
        # the index build reads only the corpus knobs: every generation knob is idle there
        **{k: _QUERY for k in ("model", "phase", "context_len", "batch", "micro_batches", "lm_head",
                               "num_layers", "hidden_size", "num_heads", "intermediate_size",
                               "sliding_window", "top_k", "reretrieve_every")},
        **{k: every(_QUERY, rule) for k, rule in LMParams.applies_when.items()},
        "embed_dim": only_with("retriever", "dense"),
        "query_tokens": every(only_with("retriever", "dense"), _QUERY),
        "query_terms": only_with("retriever", "bm25"),
        "postings_per_term": only_with("retriever", "bm25"),
        "reretrieve_top_k": every(_QUERY, only_if_positive("reretrieve_every")),
        "index_chunks": only_with("index_build", True),
    }


def plan(p: RagParams, b: int, j: int) -> list[Iteration]:
    """Retrieval prefills ('r', Apply) interleaved with decode steps or prompt chunks (none
    for the index build, which reads no prompt)."""
    if p.index_build:
        return []
    mb = p.micro_batches > 1
    k0 = min(p.top_k, p.num_docs)
    out: list[Iteration] = []
    if p.phase == "prefill":
        docs = k0 * p.doc_tokens
        out.append(Iteration("r", 0, b, docs, 0, j, mb, label=Step.APPLY_TO_INFERENCE, head=False, retrieve=k0))
        pos, c = docs, 0
        while pos < docs + p.context_len:
            t = min(p.prefill_chunk, docs + p.context_len - pos)
            out.append(Iteration("c", c, b, t, pos, j, mb, head=pos + t >= docs + p.context_len))
            pos, c = pos + t, c + 1
        return out
    pos = p.context_len
    for s in range(p.steps):
        k = k0 if s == 0 else (min(p.reretrieve_top_k, p.num_docs)
                               if p.reretrieve_every and s % p.reretrieve_every == 0 else 0)
        if k:
            out.append(Iteration("r", s, b, k * p.doc_tokens, pos, j, mb, label=Step.APPLY_TO_INFERENCE,
                                 head=False, retrieve=k))
            pos += k * p.doc_tokens
        out.append(Iteration("s", s, b, 1, pos, j, mb))
        pos += 1
    return out


def _retrieve(c: Ctx, prev, p: RagParams):
    """Query encoding, scoring, top-k and the gather of the retrieved documents' embeddings."""
    it = c.it
    if not it.retrieve:
        return prev
    B, eb, D = it.batch, c.eb, p.embed_dim
    if p.retriever == "dense":
        q = c.task("q_encode", Step.COMPUTE_RELEVANCY, "gemm",
                   {"m": B * p.query_tokens, "k": D, "n": D, "elem_bytes": eb}, data=("encoder_weights",))
        sc = c.task("score", Step.COMPUTE_RELEVANCY, "inner_product_score",
                    {"batch": B, "num_items": p.num_docs, "dim": D, "elem_bytes": eb}, data=("doc_embeddings",))
        c.edge(q, sc, B * D * eb)
        if prev is not None:
            c.edge(prev, q, B * p.query_tokens * 4)
    else:
        sc = c.task("score", Step.COMPUTE_RELEVANCY, "bm25_score",
                    {"num_postings": B * p.query_terms * p.postings_per_term, "num_docs": p.num_docs,
                     "num_terms": B * p.query_terms,
                     # hints for the study's BM25 design, which streams every document's tokens
                     # (doc_tokens) once per query; the work formulas ignore them
                     "doc_tokens": p.doc_tokens, "num_queries": B},
                    dtype="fp32", data=("inverted_index",))
        if prev is not None:
            c.edge(prev, sc, B * p.query_terms * 4)
    tk = c.task("topk", Step.RETRIEVAL, "topk", {"batch": B, "num_items": p.num_docs, "k": it.retrieve}, dtype="fp32")
    c.edge(sc, tk, B * p.num_docs * 4)
    g = c.task("doc_embed", Step.APPLY_TO_INFERENCE, "embedding_gather",
               {"num_rows": B * it.new_tokens, "row_elems": c.d.hidden_size, "elem_bytes": eb}, data=("weights",))
    c.edge(tk, g, B * it.retrieve * 8)
    if prev is not None:
        c.edge(prev, g, 0)
    return g


def _layer(c: Ctx, prev):
    return c.ffn(c.attention_block(prev))


def _data(g, p: RagParams, d):
    if p.retriever == "dense":
        add_data(g, "doc_embeddings", p.num_docs * p.embed_dim * p.elem_bytes)
        add_data(g, "encoder_weights", p.embed_dim * p.embed_dim * p.elem_bytes)
    else:
        # postings (doc id, tf) 8 B for the query terms' lists, plus per-document length and score arrays
        add_data(g, "inverted_index", p.query_terms * p.postings_per_term * 8 + p.num_docs * 8)


def build(p: RagParams):
    """Return the task graph of the queries (or of the index build)."""
    if p.index_build:
        return build_index(p)
    return build_lm(p, f"rag[{p.retriever}]", _layer, data=_data, before=lambda c, prev: _retrieve(c, prev, p),
                    plan=plan)


def build_index(p: RagParams):
    """The offline document-memory build, alone (Prepare Memory only)."""
    g = new_graph(f"rag_index[{p.retriever}](docs={p.num_docs})")
    g.graph["tokens"] = p.num_docs
    eb, D = p.elem_bytes, p.embed_dim
    _data(g, p, None)
    prev = None
    per = [p.num_docs // p.index_chunks + (1 if i < p.num_docs % p.index_chunks else 0) for i in range(p.index_chunks)]
    for i, n in enumerate(x for x in per if x):
        if p.retriever == "dense":
            # one encoder projection per document token, mean-pooled into the document's embedding
            t = add_task(g, f"index.{i}.encode", Step.PREPARE_MEMORY, "gemm",
                         {"m": n * p.doc_tokens, "k": D, "n": D, "elem_bytes": eb}, data=("encoder_weights",))
            w = add_task(g, f"index.{i}.write", Step.PREPARE_MEMORY, "block_pool",
                         {"batch": n, "num_keys": p.doc_tokens, "block_size": p.doc_tokens, "head_dim": D,
                          "elem_bytes": eb}, data=("doc_embeddings",))
            add_edge(g, t, w, n * p.doc_tokens * D * eb)
        else:
            # term counting: read every token id, write one (doc id, tf) posting per token [upper bound]
            t = add_task(g, f"index.{i}.count", Step.PREPARE_MEMORY, "elementwise",
                         {"num_elems": n * p.doc_tokens, "elem_bytes": 4})
            w = add_task(g, f"index.{i}.write", Step.PREPARE_MEMORY, "index_key_write",
                         {"batch": n * p.doc_tokens, "head_dim": 2, "elem_bytes": 4}, data=("inverted_index",))
            add_edge(g, t, w, n * p.doc_tokens * 8)
        if prev is not None:
            add_edge(g, prev, t, 0)
        prev = w
    return g


def estimate(p: RagParams) -> int:
    """Task count without building the graph (the plan is cheap; the layers are counted)."""
    if p.index_build:
        return 2 * p.index_chunks
    from .full_attention import per_layer_tasks

    d = resolve(p)
    check_layers(d)
    layers = sum(per_layer_tasks(d, i) for i in range(d.num_layers))
    per_ret = 4 if p.retriever == "dense" else 3
    return p.micro_batches * sum(layers + (per_ret if it.retrieve else 0)
                                 + (1 if it.head and p.lm_head else 0) for it in plan(p, 1, 0))
