{
    "name": "Integration Stripe",
    "summary": "Stripe as the billing platform: signed webhooks, canonical mapping, accounting, "
    "payout reconciliation, backfill and refunds",
    "version": "19.0.1.0.0",
    "category": "Integration",
    "license": "LGPL-3",
    "author": "Odoo Integration Suite",
    "website": "https://github.com/odoo-integration-suite/integration-suite",
    "maintainers": ["integration-suite"],
    "development_status": "Beta",
    "depends": ["integration_base"],
    "external_dependencies": {"python": ["stripe"]},
    "data": [
        "security/ir.model.access.csv",
        "security/integration_stripe_rules.xml",
        "views/integration_backend_views.xml",
    ],
    "installable": True,
}
