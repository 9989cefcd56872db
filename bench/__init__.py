"""Benchmarks of the identity server (run as scripts; see bench/README.md)."""
