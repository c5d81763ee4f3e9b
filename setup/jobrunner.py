"""queue_job's job runner as a process of its own (the ``runner`` role).

``python -m odoo.addons.queue_job.jobrunner -c odoo.conf`` (queue_job
19.0.2.4) reads the ``[queue_job]`` section of the configuration file when
its package is imported, before ``main()`` parses ``-c``: channels, host and
port of that section are silently ignored (``root:1`` on the HTTP interface).
This launcher parses the configuration first, then runs the same runner.

High availability comes with queue_job: a runner works only while it holds a
PostgreSQL advisory lock per database; start one on every node, the others
retry every few seconds and one of them takes over when the active one dies.
"""

import signal
import sys

import odoo
from odoo.tools import config


def main(args):
    config.parse_config(args)
    odoo.netsvc.init_logger()
    # imported only now: queue_job reads [queue_job] of the parsed file
    from odoo.addons.queue_job.jobrunner.runner import QueueJobRunner

    runner = QueueJobRunner.from_environ_or_config()
    signal.signal(signal.SIGTERM, lambda *_: runner.stop())
    runner.run()


if __name__ == "__main__":
    main(sys.argv[1:])
