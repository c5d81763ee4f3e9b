{
    "name": "Integration Helpdesk",
    "summary": "Zendesk and Freshdesk: tickets in, linked to their customer and triaged; billing context, "
    "a Zendesk sidebar app and billing fields out",
    "version": "19.0.1.0.0",
    "category": "Integration",
    "license": "LGPL-3",
    "author": "Odoo Integration Suite",
    "website": "https://github.com/odoo-integration-suite/integration-suite",
    "maintainers": ["integration-suite"],
    "development_status": "Alpha",
    "depends": ["integration_base"],
    "data": [
        "canonical/customer_billing.xml",
        "data/ir_cron_data.xml",
        "views/integration_backend_views.xml",
        "views/integration_support_ticket_views.xml",
        "views/res_partner_views.xml",
        "views/account_move_views.xml",
    ],
    "installable": True,
}
