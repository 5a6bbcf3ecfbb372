"""Adapters: the outside world behind Klantroef's ports (SQL, Redis, argon2, JWT, files, memory)."""
