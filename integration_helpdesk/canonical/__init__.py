# One file per canonical type: its unit beside its integration.canonical.type
# record (<code>.xml); its JSON Schema is ../schemas/v1/<code>.json.
# support_ticket extends the base's unit (billing triage).
from . import customer_billing, support_ticket
