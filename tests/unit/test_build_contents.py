"""The built collection tarball holds the collection, not this checkout's ansible.cfg or inventories."""
import os
import shutil
import subprocess
import tarfile

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


@pytest.mark.skipif(shutil.which("ansible-galaxy") is None, reason="ansible-galaxy is not installed")
def test_tarball_has_no_ansible_cfg_nor_inventories(tmp_path):
    proc = subprocess.run(["ansible-galaxy", "collection", "build", "--force", "--output-path", str(tmp_path), REPO],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    assert proc.returncode == 0, proc.stdout
    (tarball,) = [p for p in os.listdir(str(tmp_path)) if p.endswith(".tar.gz")]
    with tarfile.open(os.path.join(str(tmp_path), tarball)) as tar:
        names = tar.getnames()
    assert "plugins/modules/gateway_config.py" in names and "roles/profiles/tasks/main.yml" in names
    for unwanted in ("ansible.cfg", "inventories", "tests", "molecule", ".git"):
        assert not [n for n in names if n == unwanted or n.startswith(unwanted + "/")], unwanted
