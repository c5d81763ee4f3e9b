{
    "name": "Integration AMQP",
    "summary": "RabbitMQ as an event backbone: canonical events out through a transactional outbox, "
    "queue messages in through the inbox",
    "version": "19.0.1.0.0",
    "category": "Integration",
    "license": "LGPL-3",
    "author": "Odoo Integration Suite",
    "website": "https://github.com/odoo-integration-suite/integration-suite",
    "maintainers": ["integration-suite"],
    "development_status": "Alpha",
    "depends": ["integration_base"],
    "external_dependencies": {"python": ["amqp"]},
    "data": [
        "data/ir_cron_data.xml",
        "views/integration_backend_views.xml",
    ],
    "installable": True,
}
