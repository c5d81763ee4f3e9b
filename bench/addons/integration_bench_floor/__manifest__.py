{
    "name": "Integration Benchmark References",
    "summary": "Benchmark only: the floor route and the base_automation webhook peer",
    "version": "19.0.1.0.0",
    "license": "LGPL-3",
    "author": "Integration suite",
    "website": "https://github.com/odoo-integration/integration",
    "category": "Hidden",
    "depends": ["integration_base", "base_automation", "rpc"],
    "data": [
        "security/ir.model.access.csv",
        "data/base_automation_data.xml",
    ],
    "installable": True,
    "application": False,
}
