"""The inspection service's pure rules: no I/O, no session, unit-tested directly
(tests/unit/inspection/). Each module holds one family of rules."""
