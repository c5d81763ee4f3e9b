"""Statements that may lose a race, run without an ERROR in the log (no ORM here).

Odoo runs every transaction in REPEATABLE READ: a transaction sees the
database as it was when its first statement ran. When two jobs work on the
same row at once, the one that commits second gets a *serialization
failure* ("could not serialize access due to concurrent update") on its
write, and Odoo's cursor logs the failed statement as an ERROR before the
job is retried. That is a routine race, not an error.

:func:`try_execute` runs the one statement that detects such a race in a
savepoint, without logging it, and says whether it won. The callers decide:
the applier core retries the event in a new transaction
(:class:`~.exceptions.ConcurrentUpdate`), bookkeeping that is best effort
(the circuit breaker's counter) simply skips.
"""

import psycopg2
from psycopg2 import errorcodes

#: what losing a race looks like
RACE_CODES = frozenset(
    {
        errorcodes.SERIALIZATION_FAILURE,
        errorcodes.DEADLOCK_DETECTED,
        errorcodes.LOCK_NOT_AVAILABLE,
        errorcodes.UNIQUE_VIOLATION,
    }
)


def try_execute(cr, query, params=None, fetch=False):
    """Run ``query`` unless a concurrent transaction won the race.

    :param cr: an Odoo cursor (pending ORM writes should be flushed before)
    :param fetch: return the rows the statement returned
    :return: True (or the rows) when the statement ran; False (or None) when
        it lost a race: its savepoint is rolled back, the transaction stays usable
    """
    rows = None
    try:
        with cr.savepoint(flush=False):
            cr.execute(query, params, log_exceptions=False)
            if fetch:
                rows = cr.fetchall()
    except (psycopg2.OperationalError, psycopg2.IntegrityError) as exc:
        if exc.pgcode in RACE_CODES:
            return None if fetch else False
        raise
    return rows if fetch else True


def lock_rows(cr, table, ids):
    """Lock rows of ``table`` for an update this transaction is about to make.

    :return: True when the rows are locked and this transaction sees their
        latest version; False when a concurrent transaction changed one of
        them after this one began (writing it would fail)
    """
    if not ids:
        return True
    return try_execute(cr, f'SELECT id FROM "{table}" WHERE id IN %s FOR NO KEY UPDATE', (tuple(ids),))


def lock_free_rows(cr, table, ids):
    """Lock the rows of ``table`` nobody else holds and this transaction sees as they are.

    :return: the ids locked (rows another transaction holds or changed are left out)
    """
    locked = []
    for row_id in ids:
        rows = try_execute(
            cr, f'SELECT id FROM "{table}" WHERE id = %s FOR NO KEY UPDATE SKIP LOCKED', (row_id,), fetch=True
        )
        if rows:
            locked.append(row_id)
    return locked
