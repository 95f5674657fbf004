"""Benchmarks: request counts, our overhead and preview cost, against the embedded simulator.

Run with `bash scripts/bench.sh` (writes docs/benchmarks.md). Not part of the test run.
"""
