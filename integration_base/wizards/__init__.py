from . import integration_exception_ignore_wizard
from . import integration_exception_link_wizard
from . import integration_exception_edit_wizard
