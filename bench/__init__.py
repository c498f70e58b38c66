"""Benchmarks of Keyfence against the usual DRF designs; ``make bench`` runs them (see run.py)."""
