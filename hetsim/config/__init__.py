"""Typed configuration (pydantic v2 models); loading lives in hetsim.loader."""
