{
    "name": "Integration Stripe",
    "summary": "Stripe as the billing platform: signed webhooks, canonical mapping, reconciliation",
    "version": "19.0.1.0.0",
    "category": "Integration",
    "license": "LGPL-3",
    "author": "Odoo Integration Suite",
    "website": "https://github.com/odoo-integration-suite/integration-suite",
    "maintainers": ["integration-suite"],
    "development_status": "Beta",
    "depends": ["integration_base"],
    "data": [],
    "installable": True,
}
