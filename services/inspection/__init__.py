"""The inspection service: self-inspection tasks (五定), submissions, hazards, usage and filling records,
and the daily cut-off."""
