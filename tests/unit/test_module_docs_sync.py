# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""docs/modules must be what tools/gen_module_docs.py (antsibull-docs) renders from plugins/ (about 3 s)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.util
import os

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _generator():
    spec = importlib.util.spec_from_file_location("gen_module_docs", os.path.join(REPO, "tools", "gen_module_docs.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_module_docs_are_in_sync():
    gen = _generator()
    pages = gen.render_all()
    assert any(name.endswith("_module.rst") for name in pages)
    assert any(name.endswith("_filter.rst") for name in pages)
    problems = gen.compare(pages, os.path.join(REPO, "docs", "modules"))
    assert not problems, "module docs are out of sync, run `make docs`:\n  " + "\n  ".join(problems)
