{
    "name": "Integration Test Connector",
    "summary": "Test-only connector for the integration_base test suite (never install in production)",
    "version": "19.0.1.0.0",
    "category": "Hidden/Tests",
    "license": "LGPL-3",
    "author": "Odoo Integration Suite",
    "website": "https://github.com/odoo-integration-suite/integration-suite",
    "depends": ["integration_base"],
    "data": [],
    "installable": True,
}
