"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2) for other city systems:
discovery, services (the report categories), service definitions, requests (our public reports)
and tokens, in JSON and XML, with the specification's own error format on that path."""
