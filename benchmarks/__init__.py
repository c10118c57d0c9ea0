"""Benchmarks, load tests and fault drills: a Django app that only benchmarks/settings.py installs.

Not part of the installed package (pyproject.toml lists the product packages only).
"""
