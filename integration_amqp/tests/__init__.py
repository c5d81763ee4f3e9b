from . import test_backend, test_client, test_consume, test_publish, test_runner
