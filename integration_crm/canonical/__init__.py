# One file per canonical type this addon defines: its unit beside its
# integration.canonical.type record (<code>.xml); its JSON Schema is
# ../schemas/v1/<code>.json.
from . import crm_deal
