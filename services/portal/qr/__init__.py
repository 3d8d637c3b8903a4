"""What a scan shows: 一企一码 (a unit) and 风险防控码 (one piece of equipment), as HTML pages
and their JSON, resolved through registry's public API and filled from the read model."""
