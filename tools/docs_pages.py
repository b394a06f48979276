"""What both documentation generators share: writing the pages into their directory and the write/--check CLI."""

from __future__ import absolute_import, division, print_function

import argparse
import os
import sys


def write(pages, out_dir, ours):
    """Write `pages` (file name -> text) into `out_dir`; remove our files (`ours(name)`) that are no longer pages."""
    os.makedirs(out_dir, exist_ok=True)
    for name in sorted(os.listdir(out_dir)):
        if ours(name) and name not in pages:
            os.remove(os.path.join(out_dir, name))
    for name, text in sorted(pages.items()):
        path = os.path.join(out_dir, name)
        old = None
        if os.path.exists(path):
            with open(path, encoding="utf-8") as fh:
                old = fh.read()
        if old != text:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)


def compare(pages, out_dir, ours, stale):
    """Messages for every difference between `pages` and our files in `out_dir`; `stale(name)` says why a file
    that is no page any more should go."""
    problems = []
    existing = set(f for f in os.listdir(out_dir) if ours(f)) if os.path.isdir(out_dir) else set()
    for name in sorted(pages):
        path = os.path.join(out_dir, name)
        if name not in existing:
            problems.append("%s is missing" % path)
            continue
        with open(path, encoding="utf-8") as fh:
            if fh.read() != pages[name]:
                problems.append("%s is out of date" % path)
    for name in sorted(existing - set(pages)):
        problems.append("%s %s" % (os.path.join(out_dir, name), stale(name)))
    return problems


def main(argv, description, default_out, render_all, compare, ours, out_of_sync):
    """`--check` compares (exit 1 and `out_of_sync` when a page differs); otherwise the pages are written."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", default=default_out, help="output directory")
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when out of date")
    args = parser.parse_args(argv)
    try:
        pages = render_all()
    except RuntimeError as exc:
        print("ERROR: %s" % exc, file=sys.stderr)
        return 2
    if args.check:
        problems = compare(pages, args.out)
        for p in problems:
            print(p, file=sys.stderr)
        if problems:
            print(out_of_sync, file=sys.stderr)
            return 1
        return 0
    write(pages, args.out, ours)
    print("wrote %d pages to %s" % (len(pages), args.out))
    return 0
