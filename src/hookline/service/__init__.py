"""Use cases: what merchants and the operator can do, over the storage and the core."""
