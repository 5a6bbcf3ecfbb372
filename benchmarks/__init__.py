"""Klantroef's benchmark harness: every hot path against a ceiling measured in the same run.

Run it with ``nox -s bench`` (``-- --quick`` for the short CI run) or
``python -m benchmarks.run``; see ``benchmarks/README.md``.
"""
