"""Benchmarks of the harness against the original programs (see run.py)."""
