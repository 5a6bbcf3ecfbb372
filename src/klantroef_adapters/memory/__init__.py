"""In-memory adapters: real implementations for one process (the embedded default and tests)."""
