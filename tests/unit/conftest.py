"""Make the repository importable as ``ansible_collections.homelab.clawdbot``.

The unit tests import modules by their collection path, exactly as Ansible does. When the tests are not
already running inside an ``ansible_collections/homelab/clawdbot`` tree (ansible-test does that), a
symlinked tree is created in a temporary directory and put first on ``sys.path``.
"""
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
