"""Pure rules of the enforcement service: no I/O, no session; unit-tested directly.

- ``policy``: the alert policy file (domain.md §10) and what it decides for a cause and a grade;
- ``sla``: due times and escalation targets up the jurisdiction tree;
- ``lifecycle``: an alert's statuses and the transitions between them;
- ``webhooks``: what a Standard Webhooks signature covers, payloads, retry backoff;
- ``versioned``: what every versioned policy file shares (validation, versions by effective date);
- ``supervision``: the supervision policy file (domain.md §7), supervision grades, a month's visits;
- ``sampling``: the 双随机 draw (``safegrid-draw-v1``), reproducible from what it publishes;
- ``calendar``: working days (holidays and 调休) for re-check deadlines;
- ``checklist``: the 332211 items a patrol marks;
- ``legal_basis``: the legal-basis catalogue, the three lists' proposal and the decisions the law refuses;
- ``cases``: the workflows of a case and of an order to correct.
"""
