"""Make the repository importable as ``ansible_collections.homelab.clawdbot``.

The unit tests import modules by their collection path, exactly as Ansible does. When the tests are not
already running inside an ``ansible_collections/homelab/clawdbot`` tree (ansible-test does that), a
symlinked tree is created in a temporary directory and put first on ``sys.path``.
"""
import contextlib
import json
import os
import sys
import tempfile

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _collection_root():
    parts = REPO.split(os.sep)
    if len(parts) >= 3 and parts[-3:-1] == ["ansible_collections", "homelab"] and parts[-1] == "clawdbot":
        return os.sep.join(parts[:-3])
    root = os.path.join(tempfile.gettempdir(), "homelab-clawdbot-unit-%d" % os.getuid())
    link = os.path.join(root, "ansible_collections", "homelab", "clawdbot")
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if not (os.path.islink(link) and os.readlink(link) == REPO):
        if os.path.islink(link):
            os.unlink(link)
        os.symlink(REPO, link)
    return root


sys.path.insert(0, _collection_root())


import pytest  # noqa: E402  (after the sys.path set-up above)

from ansible.module_utils import basic  # noqa: E402
from ansible.module_utils.common.text.converters import to_bytes  # noqa: E402

try:  # ansible-core >= 2.19
    from ansible.module_utils.testing import patch_module_args  # noqa: E402
except ImportError:  # 2.16-2.18 (the lowest supported release, meta/runtime.yml): the module args as 2.16 reads them
    @contextlib.contextmanager
    def patch_module_args(args=None):
        old = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args or {}}))
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = old


class ModuleExit(Exception):
    """What a module's exit_json/fail_json raised: its result and whether it failed."""

    def __init__(self, result, failed):
        super(ModuleExit, self).__init__(result.get("msg"))
        self.result = result
        self.failed = failed


@pytest.fixture
def module_main(monkeypatch):
    """Run a module's main() with the given module args; returns (failed, result) instead of exiting."""
    def exit_json(self, **kwargs):
        raise ModuleExit(kwargs, False)

    def fail_json(self, msg, **kwargs):
        kwargs["msg"] = msg
        raise ModuleExit(kwargs, True)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)

    def _main(main, params):
        with patch_module_args(params):
            with pytest.raises(ModuleExit) as exc:
                main()
        return exc.value.failed, exc.value.result
    return _main
