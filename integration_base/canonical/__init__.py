# One file per canonical type: its unit (applier and exporter) beside its
# integration.canonical.type record (<code>.xml); its JSON Schema is
# ../schemas/v1/<code>.json.
from . import customer, invoice, payment, payout, product, refund, subscription, support_ticket
