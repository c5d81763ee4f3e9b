"""CRM objects read for a batch of events, shared by their jobs (no ORM here).

HubSpot posts up to a hundred events at once, each stored and processed by a
job of its own. The first job that needs an object reads, in one batch call,
the objects of every event then waiting in the inbox, and keeps each answer
here with the ids of the events it serves. An answer serves those events
only: they were stored before it was read, so it is at least as new as the
change each of them reports; an event stored later reads again.

The cache is per process (each job worker reads once per batch), bounded in
entries and age; it holds what the CRM API answered, never Odoo data.
"""

import threading
import time
from collections import OrderedDict


class SnapshotCache:
    def __init__(self, max_entries=5000, ttl=900):
        self.max_entries = max_entries
        self.ttl = ttl
        self._entries = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, event_id):
        """``(True, value)`` when an answer serves ``event_id``, else ``(False, None)``."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return False, None
            events, value, stored = entry
            if time.monotonic() - stored > self.ttl:
                del self._entries[key]
                return False, None
            return (True, value) if event_id in events else (False, None)

    def put(self, key, event_ids, value):
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = (frozenset(event_ids), value, time.monotonic())
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self):
        with self._lock:
            self._entries.clear()


#: the process-wide cache of the CRM connectors
SNAPSHOTS = SnapshotCache()
