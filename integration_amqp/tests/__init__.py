from . import test_client, test_consume, test_publish, test_runner
