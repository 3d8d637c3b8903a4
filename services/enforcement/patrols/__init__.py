"""332211 patrols (巡查): online and on-site patrols marking the checklist, findings and what follows them."""
