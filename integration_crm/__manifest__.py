{
    "name": "Integration CRM",
    "summary": "HubSpot and Salesforce as CRMs: contacts, companies and deals in; customers and billing status out",
    "version": "19.0.1.1.0",
    "category": "Integration",
    "license": "LGPL-3",
    "author": "Odoo Integration Suite",
    "website": "https://github.com/odoo-integration-suite/integration-suite",
    "maintainers": ["integration-suite"],
    "development_status": "Alpha",
    "depends": ["integration_base", "crm"],
    "data": [
        "security/integration_crm_security.xml",
        "security/ir.model.access.csv",
        "canonical/crm_deal.xml",
        "views/integration_backend_views.xml",
    ],
    "installable": True,
}
