from . import test_access
from . import test_concurrency
from . import test_outbound
from . import test_processing
from . import test_stream
from . import test_webhook
from . import test_outages
from . import test_ordering
