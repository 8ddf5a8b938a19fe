"""Which workload parameters apply in which configuration, so a knob that does nothing is said.

Why: a parameter set in a scenario but unused by the configuration it is in (``embed_dim``
with ``retriever: bm25``, ``head_dim`` on an MLA model, ``index_chunks`` without
``index_build``) was accepted silently, and a sweep over it reported identical rows as if
they were an answer. Each params model declares, in its class attribute ``applies_when``,
knob -> rule; a rule takes the validated params and returns None when the knob is used, else
the condition under which it would be (in words). :func:`unused_params` applies the rules to
the knobs the user actually set (pydantic's ``model_fields_set``), and the simulation layer
turns each into a one-line warning naming the file and field. A warning, not an error: a
file that sets ``embed_dim`` stays valid when a sweep axis switches ``retriever`` to bm25.
"""

from __future__ import annotations

from typing import Any, Callable

from pydantic import BaseModel

from ..inputs import shown as _shown

#: params -> None (the knob is used) or why it is not, e.g. "used only with retriever: dense"
Rule = Callable[[Any], "str | None"]


def only_with(field: str, *values: Any) -> Rule:
    """The knob is used only while *field* is one of *values*."""
    def rule(p) -> str | None:
        v = getattr(p, field)
        if v in values:
            return None
        return (f"used only with {field}: {' or '.join(_shown(x) for x in values)} "
                f"(here {field}: {_shown(v)})")
    return rule


def only_if_positive(field: str) -> Rule:
    """The knob is used only while *field* is > 0 (e.g. ``reretrieve_every``)."""
    def rule(p) -> str | None:
        v = getattr(p, field)
        return None if v > 0 else f"used only with {field} > 0 (here {field}: {_shown(v)})"
    return rule


def only_on(attention: str) -> Rule:
    """The knob is used only on models with *attention* (``gqa`` or ``mla``)."""
    def rule(p) -> str | None:
        from ..errors import HetsimError
        from .models import resolve

        try:
            d = resolve(p)
        except HetsimError:  # an unknown or broken preset is reported where it is loaded
            return None
        if d.attention == attention:
            return None
        return f"used only on {attention.upper()} models (here {p.model!r} uses {d.attention.upper()})"
    return rule


def never(why: str) -> Rule:
    """The knob is inherited but this workload does not read it (*why* says what does)."""
    return lambda p: why


def every(*rules: Rule) -> Rule:
    """The knob is used only when every rule holds (the first failing one is reported)."""
    def rule(p) -> str | None:
        for r in rules:
            why = r(p)
            if why:
                return why
        return None
    return rule


def unused_params(p: BaseModel) -> dict[str, str]:
    """Knobs set in *p* (not defaulted) that have no effect in its configuration -> why."""
    rules: dict[str, Rule] = getattr(type(p), "applies_when", {}) or {}
    out = {}
    for knob in sorted(p.model_fields_set):
        rule = rules.get(knob)
        why = rule(p) if rule is not None else None
        if why:
            out[knob] = why
    return out
