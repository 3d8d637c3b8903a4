"""Contract tests: each service against its published documents."""
