"""The enforcement service: Supervision plans, alerts, 332211 patrols, cases and penalties."""
