import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared", "tests"))


def pytest_collection_modifyitems(config, items):
    """The suites check the gateway hosts; the fleet's headscale is only reached through them."""
    from helpers import GATEWAYS
    # a test's id names its host first: [ansible://fleet1] or, with more parameters, [ansible://fleet1-<case>]
    keep = [i for i in items if "[ansible://" not in i.nodeid
            or any(("[ansible://%s" % name) + end in i.nodeid for name in GATEWAYS for end in ("]", "-"))]
    dropped = [i for i in items if i not in keep]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
