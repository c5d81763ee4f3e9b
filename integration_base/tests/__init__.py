from . import test_appliers
from . import test_backoff_http_client
from . import test_billing_summary
from . import test_canonical_connector
from . import test_exceptions
from . import test_schemas
from . import test_security
from . import test_ui
