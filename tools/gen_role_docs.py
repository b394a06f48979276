# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write docs/roles/<role>.md (and docs/roles/README.md) and roles/<role>/README.md from roles/<role>/meta/argument_specs.yml.

Usage:  python tools/gen_role_docs.py [--out DIR] [--check]

The output depends only on the spec files (roles in name order, entry points and options in file order),
so re-running the script is all that is needed after a spec changes.  roles/<role>/README.md is the short page
Galaxy shows for the role (its importer refuses a role without one): what the role does, how to use it, and a
link to the full option table in docs/roles/.  ``--check`` writes nothing and exits
1 when a page in DIR differs, is missing, or exists for a role that does not.  Needs Python 3 and PyYAML.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import os
import re
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import docs_pages  # noqa: E402  (next to this file)

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
INDEX = "README.md"
HEADER = ("<!-- Generated from roles/{role}/meta/argument_specs.yml by tools/gen_role_docs.py. -->\n"
          "> Generated from `roles/{role}/meta/argument_specs.yml` — do not edit; run `make docs`.\n")

# Ansible documentation markup -> Markdown.  Links first, then the one-argument macros.
_MARKUP = [
    (re.compile(r"L\(([^)]+?),\s*([^)]+?)\)"), r"[\1](\2)"),
    (re.compile(r"U\(([^)]+?)\)"), r"<\1>"),
    (re.compile(r"I\(([^)]+?)\)"), r"*\1*"),
    (re.compile(r"B\(([^)]+?)\)"), r"**\1**"),
    (re.compile(r"(?:C|V|O|E|RV|M|P)\(([^)]+?)\)"), r"`\1`"),
    (re.compile(r"HORIZONTALLINE"), "---"),
]


def markup(text):
    text = str(text)
    for rx, repl in _MARKUP:
        text = rx.sub(repl, text)
    return text


def paragraphs(value):
    """A spec description (string or list of strings) as a list of Markdown paragraphs."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [" ".join(markup(x).split()) for x in items if str(x).strip()]


def cell(text):
    """Make text safe for a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def flow(value):
    """A default or choice value the way it is written in YAML (flow style, one line)."""
    if isinstance(value, str):
        return value if value != "" else '""'
    return yaml.safe_dump(value, default_flow_style=True, width=1 << 30, sort_keys=False).strip().replace("\n...", "")


def code(value):
    text = flow(value)
    ticks = "``" if "`" in text else "`"
    pad = " " if ticks == "``" else ""
    return "%s%s%s%s%s" % (ticks, pad, text, pad, ticks)


def type_of(spec):
    kind = spec.get("type", "str")
    if kind == "list" and spec.get("elements"):
        return "list of %s" % spec["elements"]
    return kind


def options_table(options, path=""):
    """Markdown for one options mapping; suboptions follow as their own tables (recursively)."""
    if not options:
        return ["No options."]
    out = ["| option | type | default | required | choices | description |",
           "|---|---|---|---|---|---|"]
    nested = []
    for name, spec in options.items():
        spec = spec or {}
        full = "%s.%s" % (path, name) if path else name
        desc = paragraphs(spec.get("description"))
        if spec.get("aliases"):
            desc.append("Aliases: %s." % ", ".join(code(a) for a in spec["aliases"]))
        if spec.get("version_added"):
            desc.append("Added in %s." % spec["version_added"])
        default = code(spec["default"]) if "default" in spec and spec["default"] is not None else ""
        choices = ", ".join(code(c) for c in spec.get("choices") or [])
        out.append("| %s | %s | %s | %s | %s | %s |" % (
            cell(code(full)), cell(type_of(spec)), cell(default), "yes" if spec.get("required") else "no",
            cell(choices), cell("<br>".join(desc))))
        if spec.get("options"):
            nested.append((full, spec))
    for full, spec in nested:
        out += ["", "Suboptions of `%s` (%s):" % (full, type_of(spec)), ""]
        out += options_table(spec["options"], full)
    return out


def render_role(role, specs):
    entry_points = (specs or {}).get("argument_specs") or {}
    lines = [HEADER.format(role=role), "# Role `homelab.clawdbot.%s`" % role, ""]
    lines += ["Entry points: %s." % ", ".join("[`%s`](#entry-point-%s)" % (ep, ep.lower()) for ep in entry_points), ""]
    seen = {}
    for ep, spec in entry_points.items():
        spec = spec or {}
        lines += ["## Entry point `%s`" % ep, ""]
        if spec.get("short_description"):
            lines += ["**%s**" % markup(spec["short_description"]).rstrip("."), ""]
        for para in paragraphs(spec.get("description")):
            lines += ["- " + para]
        if spec.get("description"):
            lines.append("")
        usage = "tasks_from: %s" % ep if ep != "main" else ""
        lines += ["```yaml", "- ansible.builtin.include_role:", "    name: homelab.clawdbot.%s" % role]
        if usage:
            lines.append("    " + usage)
        lines += ["```", ""]
        options = spec.get("options") or {}
        same = [other for other, opts in seen.items() if opts == options and options]
        lines += ["### Options of `%s`" % ep, ""]
        if same:
            lines += ["The same options as `%s` (the spec shares them)." % same[0], ""]
        lines += options_table(options)
        lines.append("")
        seen[ep] = options
    return "\n".join(lines).rstrip("\n") + "\n"


def render_index(roles):
    lines = ["<!-- Generated from roles/*/meta/argument_specs.yml by tools/gen_role_docs.py. -->",
             "> Generated from `roles/*/meta/argument_specs.yml` — do not edit; run `make docs`.", "",
             "# Roles of `homelab.clawdbot`", "",
             "Every role validates its input against `meta/argument_specs.yml` before it changes anything; "
             "each role also has a `preflight` entry point that only validates. "
             "`playbooks/site.yml` runs all preflights first.", "",
             "| role | entry points | what it does |", "|---|---|---|"]
    for role, specs in roles:
        entry_points = (specs or {}).get("argument_specs") or {}
        summary = (entry_points.get("main") or {}).get("short_description", "")
        lines.append("| [`%s`](%s.md) | %s | %s |" % (role, role, ", ".join("`%s`" % e for e in entry_points),
                                                      cell(markup(summary))))
    lines += ["", "Modules and filters: [../modules/](../modules/README.md) (rendered by antsibull-docs).", ""]
    return "\n".join(lines)


def load_roles(repo=REPO):
    roles_dir = os.path.join(repo, "roles")
    roles = []
    for role in sorted(os.listdir(roles_dir)):
        spec_file = os.path.join(roles_dir, role, "meta", "argument_specs.yml")
        if os.path.isfile(spec_file):
            with open(spec_file, encoding="utf-8") as fh:
                roles.append((role, yaml.safe_load(fh)))
    return roles


def render_all(repo=REPO):
    """{file name: content} for docs/roles."""
    roles = load_roles(repo)
    pages = {"%s.md" % role: render_role(role, specs) for role, specs in roles}
    pages[INDEX] = render_index(roles)
    return pages


def _ours(name):
    return name.endswith(".md")


def compare(pages, out_dir):
    """Messages for every difference between the rendered pages and the Markdown files in out_dir."""
    return docs_pages.compare(pages, out_dir, _ours, lambda name: "has no role (roles/%s/meta/argument_specs.yml does not exist)"
                              % name[:-3])


def write(pages, out_dir):
    docs_pages.write(pages, out_dir, _ours)


README_HEADER = ("<!-- Generated from roles/{role}/meta/argument_specs.yml by tools/gen_role_docs.py. -->\n"
                 "> Generated from `meta/argument_specs.yml` — do not edit; run `make docs`.\n")


def render_readme(role, specs):
    """roles/<role>/README.md: the main entry point's description and use; the options live in docs/roles/<role>.md."""
    entry_points = (specs or {}).get("argument_specs") or {}
    main_spec = entry_points.get("main") or {}
    lines = [README_HEADER.format(role=role), "# Role `homelab.clawdbot.%s`" % role, ""]
    if main_spec.get("short_description"):
        lines += ["**%s**" % markup(main_spec["short_description"]).rstrip("."), ""]
    for para in paragraphs(main_spec.get("description")):
        lines += ["- " + para]
    if main_spec.get("description"):
        lines.append("")
    lines += ["```yaml", "- ansible.builtin.include_role:", "    name: homelab.clawdbot.%s" % role, "```", "",
              "Entry points: %s. Every option, its type and default: [docs/roles/%s.md](../../docs/roles/%s.md) "
              "(the collection's README has the playbooks that use this role)." % (
                  ", ".join("`%s`" % ep for ep in entry_points), role, role), ""]
    return "\n".join(lines)


def render_readmes(repo=REPO):
    """{path of roles/<role>/README.md: text} for every role with a spec."""
    return dict((os.path.join(repo, "roles", role, "README.md"), render_readme(role, specs)) for role, specs in load_roles(repo))


def _readme_page(path):
    """(directory, {file name}, ours) for docs_pages, which compares and writes pages per directory."""
    name = os.path.basename(path)
    return os.path.dirname(path), name, (lambda candidate: candidate == name)


def readme_problems(readmes):
    """docs_pages.compare's messages for every README that is missing or differs."""
    problems = []
    for path, text in sorted(readmes.items()):
        directory, name, ours = _readme_page(path)
        problems += docs_pages.compare({name: text}, directory, ours, lambda n: "is not a page")
    return problems


def write_readmes(readmes):
    for path, text in readmes.items():
        directory, name, ours = _readme_page(path)
        docs_pages.write({name: text}, directory, ours)


def main(argv=None):
    """docs/roles (docs_pages.main: --out, --check) and the role READMEs, which stay in roles/<role>/."""
    argv = sys.argv[1:] if argv is None else argv
    rc = _docs_main(argv)
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--out")
    parser.add_argument("--check", action="store_true")
    args, dummy = parser.parse_known_args(argv)
    readmes = render_readmes()
    if args.check:
        problems = readme_problems(readmes)
        for p in problems:
            print(p, file=sys.stderr)
        return rc or (1 if problems else 0)
    if args.out is None:  # a preview into another directory leaves the repository's READMEs alone
        write_readmes(readmes)
        print("wrote %d role READMEs" % len(readmes))
    return rc


def _docs_main(argv):
    return docs_pages.main(argv, __doc__.splitlines()[0], os.path.join(REPO, "docs", "roles"), render_all, compare, _ours,
                           "role docs are out of sync with roles/*/meta/argument_specs.yml: run `make docs`")


if __name__ == "__main__":
    sys.exit(main())
