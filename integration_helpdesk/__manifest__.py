{
    "name": "Integration Helpdesk",
    "summary": "A Zendesk-style helpdesk: signed ticket webhooks in, a billing-context API out",
    "version": "19.0.1.0.0",
    "category": "Integration",
    "license": "LGPL-3",
    "author": "Odoo Integration Suite",
    "website": "https://github.com/odoo-integration-suite/integration-suite",
    "maintainers": ["integration-suite"],
    "development_status": "Alpha",
    "depends": ["integration_base"],
    "data": [
        "views/integration_backend_views.xml",
    ],
    "installable": True,
}
