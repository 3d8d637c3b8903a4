"""HTTP conventions of contract.md §2: problem responses, cursor pagination, idempotency keys."""
