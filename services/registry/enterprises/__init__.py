"""Enterprises (使用单位) and the jurisdiction tree they sit in: registration, profile,
placement and verified locations, management facts, key supervision, accidents."""
