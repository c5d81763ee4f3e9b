from . import (
    integration_exception_correct_wizard,
    integration_exception_edit_wizard,
    integration_exception_ignore_wizard,
    integration_exception_link_wizard,
)
