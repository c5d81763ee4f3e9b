"""The one access check every public method of the suite makes first.

Odoo lets any logged-in user call any public method (no leading underscore)
of any model through ``/web/dataset/call_kw`` or ``/json/2``, on any ids.
Model access rights and record rules protect reads and writes made *as the
user*, not what a method then does as superuser. So every public method
calls :func:`check_rights` before anything else: model access for the
operation, the record rules (the user's companies) on the records, and the
group the action needs. ``tests/test_access_matrix.py`` calls every public
method of every integration model as every kind of user to keep it so.
"""

from odoo.exceptions import AccessError

USER = "integration_base.group_integration_user"
MANAGER = "integration_base.group_integration_manager"
SYSTEM = "base.group_system"


def check_rights(records, operation="read", group=None):
    """Raise :class:`AccessError` unless the user may ``operation`` ``records`` (and is in ``group``).

    :param records: the recordset the method works on (empty: model access only)
    :param operation: ``read``, ``write``, ``create`` or ``unlink``
    :param group: xml id of the group the action needs on top of that
    """
    env = records.env
    if env.su:
        return
    if group and not env.user.has_group(group):
        raise AccessError(
            env._(
                "%(user)s may not do this on %(model)s: it needs the group “%(group)s”.",
                user=env.user.name,
                model=records._description,
                group=env.ref(group).sudo().full_name,
            )
        )
    records.check_access(operation)
