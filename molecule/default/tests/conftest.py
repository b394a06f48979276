import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared", "tests"))


def pytest_collection_modifyitems(config, items):
    """The suites check the gateway host; the other platforms (spark, headscale, tailpeer) are only reached through
    it or by the tests themselves."""
    from helpers import GATEWAY
    # a test's id names its host first: [ansible://vm102] or, with more parameters, [ansible://vm102-<case>]
    keep = [i for i in items if "[ansible://" not in i.nodeid
            or any(("[ansible://%s" % GATEWAY) + end in i.nodeid for end in ("]", "-"))]
    dropped = [i for i in items if i not in keep]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
