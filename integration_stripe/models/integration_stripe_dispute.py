"""Stripe disputes: an exception for finance, no canonical message.

A dispute opened (or updated, or lost) opens one exception per dispute,
updated while it is open; a dispute won (or closed with a warning) resolves
it. The event is settled *done* either way.
"""

from odoo import api, models

from ..mapping_payment import dispute_payment_ref, dispute_report


class IntegrationStripeDispute(models.AbstractModel):
    _name = "integration.stripe.dispute"
    _description = "Stripe disputes (exceptions for finance)"

    @api.model
    def _on_dispute(self, event, backend, dispute):
        payment_ref = dispute_payment_ref(dispute)
        payment = self.env["integration.binding"]._find_record(backend, "payment", payment_ref) if payment_ref else None
        report = dispute_report(dispute, payment.partner_id.display_name if payment else None)
        Exception_ = self.env["integration.exception"].sudo()
        if report["closed"]:
            open_exceptions = Exception_.search(
                [
                    ("backend_id", "=", backend.id),
                    ("dedup_key", "=", report["key"]),
                    ("state", "in", ("new", "in_progress")),
                ]
            )
            for exc in open_exceptions:
                exc.message_post(
                    body=self.env._(
                        "Dispute %(id)s closed at Stripe: %(status)s.", id=dispute["id"], status=report["status"]
                    )
                )
                exc.action_resolve()
            event._set_done(note=f"dispute {dispute['id']} closed ({report['status']}): nothing lost.")
            return
        Exception_._open(
            event,
            "dispute",
            report["text"],
            severity="high",
            records=payment or None,
            key=report["key"],
            hint=report["hint"],
        )
        event._set_done(note=f"dispute {dispute['id']} ({report['status']}): exception for finance.")
