from . import test_amounts
