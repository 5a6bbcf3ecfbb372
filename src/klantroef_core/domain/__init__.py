"""Entities and value objects: frozen dataclasses that validate themselves."""
