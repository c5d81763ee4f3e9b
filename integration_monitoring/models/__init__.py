from . import integration_monitor
