from datetime import timedelta

from odoo import api, fields, models

from ..exceptions import ConcurrentUpdate
from ..races import try_execute

#: claims older than this are forgotten (no transaction lives that long)
CLAIM_RETENTION = timedelta(hours=6)


class IntegrationClaim(models.Model):
    """One row per object that jobs work on: how they serialize, quietly.

    A job about to apply a message claims the external objects it touches
    (``<backend id>:<canonical type>:<external id>``) before it reads their
    bindings: ``INSERT ... ON CONFLICT DO UPDATE`` on the claim row locks it
    until the job commits, so a second job working on the same object waits.
    When the first one commits, PostgreSQL refuses the second one's claim
    (serialization failure: its snapshot predates the first one's work); the
    claim is made without logging that (:func:`..races.try_execute`) and the
    job retries at once in a new transaction that sees the first one's
    binding (:class:`~..exceptions.ConcurrentUpdate`, no attempt used). No
    duplicate binding, no failing statement in the log.

    Claims are taken in sorted order (:meth:`_claim` takes them all at once),
    so two jobs never wait for each other in a circle.
    """

    _name = "integration.claim"
    _description = "Integration Claim (serializes jobs on one object)"
    _log_access = False

    key = fields.Char(required=True, readonly=True)
    claimed_at = fields.Datetime(readonly=True, index=True)

    _key_unique = models.Constraint("UNIQUE(key)", "An object is claimed through one row.")

    @api.model
    def _claim(self, *keys):
        """Claim ``keys`` for this transaction (re-entrant).

        :raise ConcurrentUpdate: another transaction committed work on one of
            the keys after this one began: retry in a new transaction
        """
        self.env.flush_all()
        for key in sorted({str(key) for key in keys if key}):
            won = try_execute(
                self.env.cr,
                """INSERT INTO integration_claim (key, claimed_at) VALUES (%s, now() at time zone 'UTC')
                   ON CONFLICT (key) DO UPDATE SET claimed_at = EXCLUDED.claimed_at""",
                (key,),
            )
            if not won:
                raise ConcurrentUpdate(f"{key} was just changed by another job: retried", retry_after=0.5)

    @api.model
    def _key(self, backend, canonical_type, external_id):
        return f"{backend.id}:{canonical_type}:{external_id}"

    @api.model
    def _cron_forget(self):
        """Delete old claims (those no running job holds; skipped when locked)."""
        limit = fields.Datetime.now() - CLAIM_RETENTION
        try_execute(
            self.env.cr,
            """DELETE FROM integration_claim WHERE id IN (
                   SELECT id FROM integration_claim WHERE claimed_at < %s FOR UPDATE SKIP LOCKED)""",
            (limit,),
        )
