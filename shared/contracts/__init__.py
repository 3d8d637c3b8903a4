"""Event contracts between services: each module declares the events one service publishes.

Importing this package declares every ``EventSpec`` so that the catalogue is complete.
"""

from shared.contracts import enforcement, inspection, registry, scoring  # noqa: F401
