"""Adapters that read and repackage media bytes (PyAV)."""
