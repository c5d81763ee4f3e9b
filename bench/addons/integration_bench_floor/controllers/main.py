"""The floor of the ingest benchmark: the least an Odoo route can do.

``POST /integration_bench/floor`` reads the body, inserts one row and answers
202, in one transaction, with no backend lookup, signature, dedup or job.
Whatever the webhook route costs above this is the price of its checks.
This addon is added to the addons path only by the bench/ scripts.
"""

from odoo import http
from odoo.http import request


class IntegrationBenchFloorController(http.Controller):
    _floor_url = "/integration_bench/floor"

    @http.route(_floor_url, type="http", auth="none", methods=["POST"], csrf=False, save_session=False, readonly=False)
    def floor(self, **_kwargs):
        body = request.httprequest.get_data(cache=False)
        cr = request.env.cr
        cr.execute(
            """INSERT INTO integration_bench_floor_row (name, payload, create_date, write_date)
               VALUES (%s, %s, now() at time zone 'UTC', now() at time zone 'UTC') RETURNING id""",
            (request.httprequest.headers.get("webhook-id") or "floor", body.decode("utf-8", errors="replace")),
        )
        return request.make_json_response({"status": "stored", "id": cr.fetchone()[0]}, status=202)
