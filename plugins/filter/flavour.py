# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters ``homelab.clawdbot.flavour`` and ``homelab.clawdbot.node_version_errors``.

``flavour`` returns the definition of the product an npm package name selects (module_utils/flavours.py, the
one place the names live); ``node_version_errors`` checks a Node version against a package's ``engines.node``
range and a floor, so a host whose Node is too old fails with a message instead of a broken gateway.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.clawdbot.plugins.module_utils.flavours import (
    FLAVOUR_NAMES, FlavourError, flavour_name, get_flavour, parse_version)

_VERSION_RE = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-+].*)?$")
_COMPARATOR_RE = re.compile(r"^(>=|<=|>|<|=|\^|~)?\s*v?(\d+)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?(?:-[0-9A-Za-z.-]+)?$")


def flavour(package=None, key=None):
    """The flavour definition for ``package`` (None/'' = the default flavour); with ``key`` one of its fields."""
    try:
        f = get_flavour(package)
    except FlavourError as e:
        raise AnsibleFilterError(str(e))
    if key is None:
        return f
    if key not in f:
        raise AnsibleFilterError("the flavour definition has no field %r" % key)
    return f[key]


def _version(text):
    m = _VERSION_RE.match(str(text).strip())
    if not m:
        return None
    return tuple(int(x or 0) for x in m.groups())


def _comparator_ok(version, comp):
    m = _COMPARATOR_RE.match(comp)
    if not m:
        raise ValueError(comp)
    op, major, minor, patch = m.groups()
    wild_minor = minor in (None, "x", "*")
    wild_patch = wild_minor or patch in (None, "x", "*")
    want = (int(major), 0 if wild_minor else int(minor), 0 if wild_patch else int(patch))
    op = op or "="
    if op == "^":
        upper = (want[0] + 1, 0, 0) if want[0] else ((0, want[1] + 1, 0) if want[1] else (0, 0, want[2] + 1))
        return want <= version < upper
    if op == "~":
        upper = (want[0] + 1, 0, 0) if wild_minor else (want[0], want[1] + 1, 0)
        return want <= version < upper
    if op == "=":
        if wild_minor:
            return version[0] == want[0]
        if wild_patch:
            return version[:2] == want[:2]
        return version == want
    return {">=": version >= want, ">": version > want, "<=": version <= want, "<": version < want}[op]


def node_satisfies(version, engines):
    """True when ``version`` (``v24.22.3`` or ``24.22.3``) is inside the npm range ``engines`` (``||``, spaces = and)."""
    v = _version(version)
    if v is None:
        return False
    if not engines or not str(engines).strip() or str(engines).strip() == "*":
        return True
    for alternative in str(engines).split("||"):
        comps = re.sub(r"(>=|<=|>|<|=|\^|~)\s+", r"\1", alternative.strip()).split()
        if all(_comparator_ok(v, c) for c in comps):
            return True
    return False


def node_version_errors(version, engines=None, minimum=None, what="the package", var="node_runtime_version"):
    """[] when Node ``version`` satisfies ``engines`` and ``minimum``, else one message naming ``var``."""
    v = _version(version or "")
    if v is None:
        return ["Node.js is not installed or its version %r cannot be read (%s)" % (version, var)]
    errors = []
    if minimum and v < (_version(minimum) or (0, 0, 0)):
        errors.append("Node.js %s is older than node_runtime_minimum_version %s" % (str(version).lstrip("v"), minimum))
    try:
        ok = node_satisfies(version, engines)
    except ValueError as e:
        raise AnsibleFilterError("cannot read the engines range %r (%s)" % (engines, e))
    if not ok:
        errors.append("Node.js %s does not satisfy engines.node %r of %s" % (str(version).lstrip("v"), engines, what))
    if errors:
        errors.append("set %s to a version that does (for example the flavour's default) and run again" % var)
        return [" ".join(errors)]
    return []


def cli_version(text, package=None):
    """The version ``<cli> --version`` printed (``OpenClaw 2026.9.6 (eb377ac)`` -> ``2026.9.6``), or ''."""
    try:
        return parse_version(flavour_name(package), text) or ""
    except FlavourError as e:
        raise AnsibleFilterError(str(e))


def foreign_units(package, profiles):
    """Unit names the *other* flavours would use for these profiles (and their unprofiled unit).

    A host that already runs one of them runs the other product: the preflight stops instead of installing a
    second set of gateways on the same ports.
    """
    mine = flavour_name(package)
    names = [p.get("name") for p in profiles or [] if isinstance(p, dict) and isinstance(p.get("name"), str)]
    out = []
    for other in FLAVOUR_NAMES:
        if other == mine:
            continue
        prefix = get_flavour(other)["unit_prefix"]
        out.append("%s.service" % prefix)
        out.extend("%s-%s.service" % (prefix, n) for n in names)
    return out


_REQUEST_RE = re.compile(r"^(\d+)(?:\.(\d+)\.(\d+))?$")


def node_version_request_errors(requested, engines=None, minimum=None, what="the package", var="node_runtime_version"):
    """[] when the requested Node.js ``requested`` can satisfy ``engines`` and ``minimum``, else one message naming ``var``.

    An exact version (``24.16.0``) is checked as it is. A bare major (``24``) stands for the newest 24.x, so it
    fails only when no 24.x can satisfy: the major is below the floor's major, or ``24.999.999`` is outside ``engines``.
    """
    text = "" if requested is None else str(requested).strip()
    m = _REQUEST_RE.match(text)
    if not m:
        return ["%s=%r must be a major (\"24\") or an exact version (\"24.16.0\")." % (var, text)]
    floor = None
    if minimum:
        floor = _version(minimum)
        if floor is None:
            return ["node_runtime_minimum_version=%r is not a Node.js version (\"24.16.0\")." % (minimum,)]
    exact = m.group(2) is not None
    probe = text if exact else "%s.999.999" % text
    problems = []
    if floor is not None and _version(probe) < floor:
        problems.append("is too old: Node.js >= %s is needed (node_runtime_minimum_version)" % minimum)
    try:
        ok = node_satisfies(probe, engines)
    except ValueError as e:
        raise AnsibleFilterError("cannot read the engines range %r (%s)" % (engines, e))
    if not ok:
        if exact:
            problems.append("does not satisfy engines.node %r of %s" % (engines, what))
        else:
            problems.append("cannot satisfy engines.node %r of %s (no %s.x is inside it)" % (engines, what, text))
    if not problems:
        return []
    return ["%s=%s %s; set %s to a version that does (for example the flavour's default) and run again."
            % (var, text, ", and ".join(problems), var)]


def node_installed_errors(installed, requested=None, engines=None, minimum=None, what="the package",
                          var="node_runtime_version"):
    """[] when the installed Node.js ``installed`` (``v24.22.3``, ``24.22.3`` or dpkg's ``24.22.3-1nodesource1``) is
    what ``requested`` asks for (the same major for ``24``, the same version for ``24.16.0``) and satisfies
    ``engines`` and ``minimum`` (node_version_errors); else one message naming ``var``."""
    errors = node_version_errors(installed, engines, minimum, what, var)
    if errors:
        return errors
    m = _REQUEST_RE.match("" if requested is None else str(requested).strip())
    if not m:
        return []
    want = tuple(int(x) for x in m.groups() if x is not None)
    if _version(installed)[:len(want)] != want:
        req = str(requested).strip()
        return ["Node.js %s is installed, but %s=%s asks for %s." % (str(installed).strip().lstrip("v"), var, req,
                                                                     req if len(want) == 3 else req + ".x")]
    return []


class FilterModule(object):
    def filters(self):
        return {"flavour": flavour, "node_version_errors": node_version_errors, "cli_version": cli_version,
                "foreign_units": foreign_units,
                "node_version_request_errors": node_version_request_errors,
                "node_installed_errors": node_installed_errors}
