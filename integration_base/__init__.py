# models first: the canonical types inherit the applier and exporter cores
from . import models, canonical, controllers, wizards
