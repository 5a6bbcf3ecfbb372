"""Use cases: one class per thing a user can do, built from ports."""
