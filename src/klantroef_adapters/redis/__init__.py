"""Redis adapters: state shared by every instance (rate limits, analytics cache, revocations)."""
