"""Benchmarks run beside their baselines (`python -m benchmarks [--quick] [NAME ...]`)."""
