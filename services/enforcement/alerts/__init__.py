"""Alerts (预警): the policy applied to causes, the lifecycle, SLA escalation, the API."""
