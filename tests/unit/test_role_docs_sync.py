# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""docs/roles/*.md must be exactly what tools/gen_role_docs.py makes from roles/*/meta/argument_specs.yml."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import filecmp
import importlib.util
import os
import shutil

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOCS = os.path.join(REPO, "docs", "roles")


def _generator():
    spec = importlib.util.spec_from_file_location("gen_role_docs", os.path.join(REPO, "tools", "gen_role_docs.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _md(directory):
    return set(f for f in os.listdir(directory) if f.endswith(".md")) if os.path.isdir(directory) else set()


def test_role_docs_are_in_sync(tmp_path):
    gen = _generator()
    out = str(tmp_path / "roles")
    gen.write(gen.render_all(REPO), out)
    fresh, committed = _md(out), _md(DOCS)
    problems = ["docs/roles/%s is missing" % f for f in sorted(fresh - committed)]
    problems += ["docs/roles/%s has no role in roles/ (stale page)" % f for f in sorted(committed - fresh)]
    problems += ["docs/roles/%s differs from roles/%s/meta/argument_specs.yml" % (f, f[:-3])
                 for f in sorted(fresh & committed)
                 if not filecmp.cmp(os.path.join(out, f), os.path.join(DOCS, f), shallow=False)]
    assert not problems, "role docs are out of sync, run `make docs`:\n  " + "\n  ".join(problems)


def test_every_role_with_a_spec_has_a_page():
    roles = sorted(r for r in os.listdir(os.path.join(REPO, "roles"))
                   if os.path.isfile(os.path.join(REPO, "roles", r, "meta", "argument_specs.yml")))
    assert roles, "no roles found"
    assert set("%s.md" % r for r in roles) | {"README.md"} == _md(DOCS), "run `make docs`"


def test_check_mode_detects_drift(tmp_path):
    """The generator's own --check must notice an edited, a missing and a stale page."""
    gen = _generator()
    out = tmp_path / "roles"
    shutil.copytree(DOCS, str(out))
    assert gen.compare(gen.render_all(REPO), str(out)) == []
    first = sorted(_md(str(out)) - {"README.md"})[0]
    with open(str(out / first), "a", encoding="utf-8") as fh:
        fh.write("edited by hand\n")
    (out / "README.md").unlink()
    (out / "no_such_role.md").write_text("stale\n", encoding="utf-8")
    problems = gen.compare(gen.render_all(REPO), str(out))
    assert any("out of date" in p and first in p for p in problems), problems
    assert any("README.md is missing" in p for p in problems), problems
    assert any("no_such_role.md has no role" in p for p in problems), problems


@pytest.mark.parametrize("text, expected", [
    ("C(a) I(b) B(c) O(d=1) V(x)", "`a` *b* **c** `d=1` `x`"),
    ("see U(https://example.invalid) and L(the docs, https://example.invalid/d)",
     "see <https://example.invalid> and [the docs](https://example.invalid/d)"),
])
def test_markup(text, expected):
    assert _generator().markup(text) == expected


def test_suboptions_get_their_own_table():
    gen = _generator()
    page = gen.render_role("demo", {"argument_specs": {"main": {"short_description": "Demo.", "options": {
        "demo_list": {"type": "list", "elements": "dict", "description": "Things.", "options": {
            "name": {"type": "str", "required": True, "description": "Name | with pipe."},
            "port": {"type": "int", "default": 1, "choices": [1, 2]}}}}}}})
    assert "| `demo_list` | list of dict |" in page
    assert "Suboptions of `demo_list` (list of dict):" in page
    assert "| `demo_list.name` | str |  | yes |  | Name \\| with pipe. |" in page
    assert "| `demo_list.port` | int | `1` | no | `1`, `2` |  |" in page


def test_every_role_has_its_readme_in_sync():
    """Galaxy's importer refuses a role without roles/<role>/README.md; the generator writes and checks it."""
    gen = _generator()
    readmes = gen.render_readmes(REPO)
    roles = sorted(r for r in os.listdir(os.path.join(REPO, "roles"))
                   if os.path.isfile(os.path.join(REPO, "roles", r, "meta", "argument_specs.yml")))
    assert sorted(os.path.basename(os.path.dirname(p)) for p in readmes) == roles
    assert gen.readme_problems(readmes) == [], "run `make docs`"
    for path, text in readmes.items():
        role = os.path.basename(os.path.dirname(path))
        assert "# Role `homelab.clawdbot.%s`" % role in text and "(../../docs/roles/%s.md)" % role in text


def test_readme_check_detects_drift(tmp_path):
    gen = _generator()
    path = str(tmp_path / "README.md")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("hand-written\n")
    text = gen.render_readme("demo", {"argument_specs": {"main": {"short_description": "Demo."}}})
    assert gen.readme_problems({path: text}) == ["%s is out of date" % path]
    assert gen.readme_problems({str(tmp_path / "missing.md"): text}) == ["%s is missing" % (tmp_path / "missing.md")]
