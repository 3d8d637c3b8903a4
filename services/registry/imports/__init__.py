"""Bulk import of a city's existing ledger (CSV or XLSX, in its own column names)."""
