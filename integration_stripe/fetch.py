"""Reading Stripe objects while an event is mapped (no ORM here).

Stripe delivers events late, twice and out of order, so the kinds of object
listed on the backend (``stripe_fetch_objects``) are read again from the API:
the message carries the current state, not the state of the moment the
event was made. Each object is read at most once per event.
"""

from .client import StripeNotFound
from .mapping import ref


class StripeFetcher:
    """The API reads of one event's mapping.

    :param api: a callable returning the :class:`~.client.StripeApi` (made on
        first use: most events need no call)
    :param kinds: the kinds of object to read fresh (empty: trust the payload)
    :param note: a callable recording a text on the event
    """

    def __init__(self, api, kinds, note):
        self._api_factory = api
        self._api = None
        self.kinds = set(kinds)
        self.note = note
        self.cache = {}

    @property
    def api(self):
        if self._api is None:
            self._api = self._api_factory()
        return self._api

    def get(self, path, object_id, expand=None):
        """An object read from the API (once per event); None if Stripe does not have it."""
        key = (path, object_id)
        if key not in self.cache:
            params = {"expand": expand} if expand else {}
            try:
                self.cache[key] = self.api.get(f"{path}/{object_id}", **params)
            except StripeNotFound:
                self.cache[key] = None
        return self.cache[key]

    def fresh(self, kind, obj, path, expand=None):
        """The current state of ``obj`` when this kind is read fresh, else the payload's.

        :param obj: the payload's object, or only its id
        :return: a dict, or None (only an id, fetching off, or gone at Stripe)
        """
        object_id = ref(obj)
        if object_id and kind in self.kinds:
            current = self.get(path, object_id, expand)
            if current is not None:
                return current
            self.note(f"{object_id} is no longer at Stripe: the event's copy is used.")
        return obj if isinstance(obj, dict) else None

    def required(self, path, obj, expand=None):
        """``obj`` as a dict: the payload's when expanded, else read from the API."""
        if isinstance(obj, dict):
            return obj
        return self.get(path, obj, expand) if obj else None

    def list_all(self, path, params=None):
        return self.api.list_all(path, params)

    def invoice_lines(self, invoice):
        """Every line of an invoice (Stripe embeds only the first ones)."""
        lines = invoice.get("lines") or {}
        if lines.get("has_more"):
            return self.list_all(f"/v1/invoices/{invoice['id']}/lines")
        return list(lines.get("data") or [])

    def tax_rates(self, rate_ids):
        """``{id: tax rate}`` read from the API (``{}`` for one Stripe no longer has)."""
        return {rate_id: self.get("/v1/tax_rates", rate_id) or {} for rate_id in rate_ids}
