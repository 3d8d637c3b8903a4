"""The scoring service's rows of the audit log: ``shared.queries.write_audit`` bound to its own
table (the SQL helpers every repository here uses, upserts and the like, are ``shared.queries``)."""

from __future__ import annotations

import functools

from services.scoring.models import platform
from shared.queries import write_audit

audit = functools.partial(write_audit, audit_log=platform.audit_log)
