"""Klantroef's core: entities, domain errors, use cases and the ports they need.

This package imports only the standard library. Adapters (databases, Redis,
hashing, signing, files) implement the ports in :mod:`klantroef_core.ports`;
any Python service can import the use cases and wire its own adapters.
"""
