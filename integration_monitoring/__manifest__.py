{
    "name": "Integration Monitoring",
    "summary": "Health, metrics and Prometheus exposition of the integration suite",
    "version": "19.0.1.0.0",
    "category": "Integration",
    "license": "LGPL-3",
    "author": "Odoo Integration Suite",
    "website": "https://github.com/odoo-integration-suite/integration-suite",
    "maintainers": ["integration-suite"],
    "development_status": "Alpha",
    "depends": ["integration_base"],
    "data": [],
    "installable": True,
}
