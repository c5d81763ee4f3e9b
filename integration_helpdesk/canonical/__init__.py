# One file per canonical type: its unit beside its integration.canonical.type
# record (<code>.xml); its JSON Schema is ../schemas/v1/<code>.json.
from . import customer_billing
