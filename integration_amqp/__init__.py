from . import models
from . import runner
