"""Counters shared by every Odoo process, for monitoring.

A Prometheus *counter* only goes up and must read the same from every
worker, so it cannot live in process memory: each increment is one atomic
``INSERT ... ON CONFLICT DO UPDATE`` on a row per (name, label, backend).
Increments are made in a transaction of their own (:meth:`_increment`), so
they count even when the request that failed is rolled back or read-only.

Used by the public routes for failed authentications (``auth_failures``,
label = the route: ``webhook``, ``billing_context``, ``metrics``); any
module may add its own names. ``integration_base/readme/DEVELOP.md`` shows
how to read them for an exporter.
"""

from odoo import api, fields, models


class IntegrationCounter(models.Model):
    _name = "integration.counter"
    _description = "Integration Counter"
    _log_access = False
    _order = "name, label, backend_id"

    name = fields.Char(required=True, readonly=True, help="What is counted, e.g. auth_failures.")
    label = fields.Char(required=True, default="", readonly=True, help="A sub-key, e.g. the route.")
    backend_id = fields.Many2one("integration.backend", readonly=True, index=True, ondelete="cascade")
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    value = fields.Float(readonly=True, digits=(16, 0))
    updated_at = fields.Datetime(readonly=True)

    _key_unique = models.UniqueIndex("(name, label, COALESCE(backend_id, 0))")

    @api.model
    def _increment(self, name, backend=None, label="", amount=1):
        """Add ``amount`` to a counter, in a transaction of its own (committed at once)."""
        with self.env.registry.cursor() as cr:
            self.with_env(self.env(cr=cr))._add(name, backend, label, amount)

    @api.model
    def _add(self, name, backend=None, label="", amount=1):
        """Add ``amount`` to a counter in the current transaction."""
        self.env.cr.execute(
            """
            INSERT INTO integration_counter (name, label, backend_id, value, updated_at)
            VALUES (%s, %s, %s, %s, now() at time zone 'UTC')
            ON CONFLICT (name, label, (COALESCE(backend_id, 0))) DO UPDATE
               SET value = integration_counter.value + EXCLUDED.value, updated_at = EXCLUDED.updated_at
            """,
            (name, label or "", backend.id if backend else None, amount),
        )

    @api.model
    def _get(self, name, backend=None, label=""):
        """The current value of a counter (0 when it never moved)."""
        self.env.cr.execute(
            "SELECT value FROM integration_counter WHERE name = %s AND label = %s AND COALESCE(backend_id, 0) = %s",
            (name, label or "", backend.id if backend else 0),
        )
        row = self.env.cr.fetchone()
        return row[0] if row else 0

    @api.model
    def _rows(self, name):
        """Every counter of ``name``: list of ``(label, backend_id or None, value)``, for an exporter."""
        self.env.cr.execute(
            "SELECT label, backend_id, value FROM integration_counter WHERE name = %s ORDER BY label, backend_id",
            (name,),
        )
        return self.env.cr.fetchall()
