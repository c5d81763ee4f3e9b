"""Failed authentications per client address, shared by every Odoo process.

A fixed window per key (``<route>|<address>``): each failure within the
window adds one; once an address has failed ``integration_base.auth_failure_limit``
times in ``integration_base.auth_failure_window`` seconds, its requests to
that kind of route are answered 429 with ``Retry-After`` until the window
ends, before any lookup or signature check. Authentic senders never fail,
so they are never throttled, and the check they pay is one primary-key read.
State lives in PostgreSQL (Odoo's prefork workers share nothing else);
failures are written in a transaction of their own.
"""

import math
from datetime import timedelta

from odoo import api, fields, models


class IntegrationAuthThrottle(models.Model):
    _name = "integration.auth.throttle"
    _description = "Failed Authentications per Client Address"
    _log_access = False
    _rec_name = "key"

    key = fields.Char(required=True, readonly=True, help="<route>|<client address>")
    failures = fields.Integer(readonly=True)
    window_start = fields.Datetime(readonly=True)

    _key_unique = models.Constraint("UNIQUE(key)", "One row per route and address.")

    @staticmethod
    def _now():
        return fields.Datetime.now()

    @api.model
    def _retry_after(self, key, limit, window):
        """Seconds ``key`` must wait before it is heard again (0: not throttled)."""
        self.env.cr.execute("SELECT failures, window_start FROM integration_auth_throttle WHERE key = %s", (key,))
        row = self.env.cr.fetchone()
        if not row or row[0] < limit:
            return 0
        remaining = (row[1] + timedelta(seconds=window) - self._now()).total_seconds()
        return math.ceil(remaining) if remaining > 0 else 0

    @api.model
    def _fail(self, key, window):
        """Count one failure of ``key`` in the current transaction."""
        now = self._now()
        expired = now - timedelta(seconds=window)
        self.env.cr.execute(
            """
            INSERT INTO integration_auth_throttle AS t (key, failures, window_start) VALUES (%s, 1, %s)
            ON CONFLICT (key) DO UPDATE
               SET failures = CASE WHEN t.window_start < %s THEN 1 ELSE t.failures + 1 END,
                   window_start = CASE WHEN t.window_start < %s THEN EXCLUDED.window_start ELSE t.window_start END
            """,
            (key, now, expired, expired),
        )

    @api.autovacuum
    def _gc_windows(self):
        """Forget addresses that have not failed for a day."""
        self.env.cr.execute(
            "DELETE FROM integration_auth_throttle WHERE window_start < %s", (self._now() - timedelta(days=1),)
        )
