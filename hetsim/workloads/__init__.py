"""Workloads: parameter models plus builders that return validated task graphs."""
