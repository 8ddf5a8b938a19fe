"""Mapping policies: decide where each task runs and where each memory structure lives."""
