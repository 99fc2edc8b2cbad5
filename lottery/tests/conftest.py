from queueing.tests.conftest import make_fans  # noqa: F401 - the same fan factory as the queue's tests
