"""Dashboards for regulators (their jurisdiction subtree): grade distribution and its trend,
alerts by kind and status, self-inspection completion, each as JSON and as CSV."""
