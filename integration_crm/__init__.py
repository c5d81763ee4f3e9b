# models first: the canonical types inherit the engine's models
from . import models, canonical
