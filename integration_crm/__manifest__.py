{
    "name": "Integration CRM",
    "summary": "A HubSpot-style CRM: contacts and companies in, billing status out; CRM deals as a canonical type",
    "version": "19.0.1.0.0",
    "category": "Integration",
    "license": "LGPL-3",
    "author": "Odoo Integration Suite",
    "website": "https://github.com/odoo-integration-suite/integration-suite",
    "maintainers": ["integration-suite"],
    "development_status": "Alpha",
    "depends": ["integration_base", "crm"],
    "data": [
        "canonical/crm_deal.xml",
    ],
    "installable": True,
}
