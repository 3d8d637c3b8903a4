"""Pure rules of the enforcement service: no I/O, no session; unit-tested directly.

- ``policy``: the alert policy file (domain.md §10) and what it decides for a cause and a grade;
- ``sla``: due times and escalation targets up the jurisdiction tree;
- ``lifecycle``: an alert's statuses and the transitions between them;
- ``webhooks``: what a Standard Webhooks signature covers, payloads, retry backoff.
"""
