"""What the database says: event and job states, the backlog, job latencies."""

import time

import psycopg2


def event_states(pg, db, backend_id=None, direction="in"):
    sql = "SELECT state, count(*) FROM integration_event WHERE direction = %s"
    args = [direction]
    if backend_id:
        sql += " AND backend_id = %s"
        args.append(backend_id)
    return dict(pg.query(db, sql + " GROUP BY state", args))


def job_states(pg, db, channel="root.integration"):
    return dict(pg.query(db, "SELECT state, count(*) FROM queue_job WHERE channel = %s GROUP BY state", (channel,)))


def wait_drained(pg, db, timeout, backend_ids=None, poll=1.0, on_poll=None):
    """Wait until no event is queued/processing and no job is pending.

    :return: seconds waited, or None on timeout
    """
    start = time.monotonic()
    where = "AND backend_id IN %s" if backend_ids else ""
    args = (tuple(backend_ids),) if backend_ids else ()
    while time.monotonic() - start < timeout:
        try:
            busy = pg.query(
                db,
                f"SELECT count(*) FROM integration_event WHERE state IN ('received', 'queued', 'processing') {where}",
                args,
            )[0][0]
            jobs = pg.query(
                db,
                "SELECT count(*) FROM queue_job WHERE state IN ('pending', 'enqueued', 'started', 'wait_dependencies')",
            )[0][0]
        except psycopg2.OperationalError:
            busy = jobs = 1
        if on_poll:
            on_poll(busy, jobs)
        if not busy and not jobs:
            return time.monotonic() - start
        time.sleep(poll)
    return None


def job_latencies(pg, db, since=None):
    """(date_done - date_created) of the done jobs of the engine's channel, seconds."""
    rows = pg.query(
        db,
        """SELECT EXTRACT(EPOCH FROM (date_done - date_created)) FROM queue_job
                           WHERE state = 'done' AND channel = 'root.integration'""",
    )
    return [float(r[0]) for r in rows if r[0] is not None]
