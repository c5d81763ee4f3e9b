# models first: the canonical types inherit the applier and exporter cores
from . import models, canonical, controllers, logfilter, wizards

# the webhook reference is a credential: keep it out of werkzeug's access log
logfilter.install()
