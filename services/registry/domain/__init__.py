"""Pure rules of the registry: no I/O, no session. The service and the importer both call
these, so a rule reads the same from an HTTP request and from row 40,512 of a city's
spreadsheet: ``uscc`` (identifiers), ``placement`` (the jurisdiction tree), ``facts``
(management facts), ``supervision`` (key supervision), ``equipment``, ``operators``, ``kinds``,
``dates``, ``revisions`` (ETags), ``violations`` (what a broken rule reports)."""
