# -*- coding: utf-8 -*-
# Copyright (c) homelab.clawdbot maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small, dependency-free JSON5 reader.

Clawdbot reads its config file (``~/.clawdbot*/clawdbot.json``) as JSON5, so people edit it with
comments, trailing commas, unquoted keys and single-quoted strings. This module only *reads* JSON5
(the collection always writes plain JSON, like the gateway itself).

``loads(text)`` returns Python objects (dict, list, str, int, float, bool, None). Plain JSON goes
through :func:`json.loads` first; anything else is parsed by a small recursive-descent parser that
follows https://spec.json5.org/. Bad input raises :class:`JSON5DecodeError` (a ``ValueError``)
whose message ends with ``line L column C``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

__all__ = ["JSON5DecodeError", "loads"]

# JSON5 WhiteSpace + LineTerminator (spec 5.1).
_WHITESPACE = u"\t\n\v\f\r \u00a0\u2028\u2029\ufeff"
_LINE_TERMINATORS = u"\n\r\u2028\u2029"
_SINGLE_ESCAPES = {
    u"'": u"'",
    u'"': u'"',
    u"\\": u"\\",
    u"b": u"\b",
    u"f": u"\f",
    u"n": u"\n",
    u"r": u"\r",
    u"t": u"\t",
    u"v": u"\v",
}
_HEX = u"0123456789abcdefABCDEF"
_DIGITS = u"0123456789"
_MAX_DEPTH = 512


class JSON5DecodeError(ValueError):
    """Bad JSON5 input. ``msg``, ``lineno`` and ``colno`` (both 1-based) describe where."""

    def __init__(self, msg, text, pos):
        lineno, colno = _line_col(text, pos)
        super(JSON5DecodeError, self).__init__("%s at line %d column %d" % (msg, lineno, colno))
        self.msg = msg
        self.pos = pos
        self.lineno = lineno
        self.colno = colno


def _line_col(text, pos):
    pos = max(0, min(pos, len(text)))
    lineno = 1
    line_start = 0
    for i in range(pos):
        ch = text[i]
        if ch in u"\n\u2028\u2029" or (ch == u"\r" and text[i + 1:i + 2] != u"\n"):
            lineno += 1
            line_start = i + 1
    return lineno, pos - line_start + 1


def _is_id_start(ch):
    return ch in u"$_" or ch.isalpha()


def _is_id_part(ch):
    # ECMAScript IdentifierPart also allows combining marks, digits, connector punctuation, ZWNJ/ZWJ.
    return ch in u"$_\u200c\u200d" or ch.isalnum() or (u"a" + ch).isidentifier()


class _Parser(object):

    def __init__(self, text):
        self.text = text
        self.pos = 0
        self.depth = 0

    # -- helpers ---------------------------------------------------------------------------------

    def error(self, msg, pos=None):
        raise JSON5DecodeError(msg, self.text, self.pos if pos is None else pos)

    def peek(self, offset=0):
        i = self.pos + offset
        if i < len(self.text):
            return self.text[i]
        return u""

    def describe(self, ch):
        if ch == u"":
            return "end of input"
        return "character %r" % ch

    def skip_ignored(self):
        """Skip whitespace and comments."""
        text = self.text
        n = len(text)
        while self.pos < n:
            ch = text[self.pos]
            if ch in _WHITESPACE:
                self.pos += 1
            elif ch == u"/" and self.peek(1) == u"/":
                self.pos += 2
                while self.pos < n and text[self.pos] not in _LINE_TERMINATORS:
                    self.pos += 1
            elif ch == u"/" and self.peek(1) == u"*":
                start = self.pos
                end = text.find(u"*/", self.pos + 2)
                if end < 0:
                    self.error("unterminated /* comment", start)
                self.pos = end + 2
            elif ch == u"/":
                self.error("unexpected character '/' (comments start with // or /*)")
            else:
                break

    # -- grammar ---------------------------------------------------------------------------------

    def parse(self):
        self.skip_ignored()
        if self.pos >= len(self.text):
            self.error("empty document (expected a value)")
        value = self.value()
        self.skip_ignored()
        if self.pos < len(self.text):
            self.error("unexpected %s after the end of the document" % self.describe(self.peek()))
        return value

    def value(self):
        ch = self.peek()
        if ch == u"{":
            return self.obj()
        if ch == u"[":
            return self.array()
        if ch in u"\"'":
            return self.string()
        if ch in _DIGITS or ch in u"+-.":
            return self.number()
        if self.text.startswith(u"Infinity", self.pos) or self.text.startswith(u"NaN", self.pos):
            return self.number()
        for word, result in ((u"true", True), (u"false", False), (u"null", None)):
            if self.text.startswith(word, self.pos):
                end = self.pos + len(word)
                if end < len(self.text) and _is_id_part(self.text[end]):
                    break
                self.pos = end
                return result
        if ch == u"":
            self.error("unexpected end of input (expected a value)")
        self.error("unexpected %s (expected a value)" % self.describe(ch))
        return None  # not reached

    def enter(self):
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            self.error("nesting too deep")

    def obj(self):
        self.enter()
        self.pos += 1  # {
        result = {}
        while True:
            self.skip_ignored()
            ch = self.peek()
            if ch == u"}":
                self.pos += 1
                break
            key = self.key()
            self.skip_ignored()
            if self.peek() != u":":
                self.error("expected ':' after the key %r, found %s" % (key, self.describe(self.peek())))
            self.pos += 1
            self.skip_ignored()
            result[key] = self.value()
            self.skip_ignored()
            ch = self.peek()
            if ch == u",":
                self.pos += 1
            elif ch == u"}":
                self.pos += 1
                break
            else:
                self.error("expected ',' or '}' in an object, found %s" % self.describe(ch))
        self.depth -= 1
        return result

    def key(self):
        ch = self.peek()
        if ch in u"\"'":
            return self.string()
        if ch == u"":
            self.error("unterminated object (expected a key or '}')")
        if not (_is_id_start(ch) or ch == u"\\"):
            self.error("unexpected %s (expected a key or '}')" % self.describe(ch))
        chars = []
        first = True
        while True:
            ch = self.peek()
            if ch == u"\\":
                start = self.pos
                if self.peek(1) != u"u":
                    self.error("only \\u escapes are allowed in identifiers")
                self.pos += 2
                ch = self.unicode_escape()
                ok = _is_id_start(ch) if first else _is_id_part(ch)
                if not ok:
                    self.error("invalid identifier character %r" % ch, start)
            elif ch and (_is_id_start(ch) if first else _is_id_part(ch)):
                self.pos += 1
            else:
                break
            chars.append(ch)
            first = False
        return u"".join(chars)

    def array(self):
        self.enter()
        self.pos += 1  # [
        result = []
        while True:
            self.skip_ignored()
            if self.peek() == u"]":
                self.pos += 1
                break
            if self.peek() == u"":
                self.error("unterminated array (expected a value or ']')")
            result.append(self.value())
            self.skip_ignored()
            ch = self.peek()
            if ch == u",":
                self.pos += 1
            elif ch == u"]":
                self.pos += 1
                break
            else:
                self.error("expected ',' or ']' in an array, found %s" % self.describe(ch))
        self.depth -= 1
        return result

    def hex_digits(self, count):
        digits = self.text[self.pos:self.pos + count]
        if len(digits) != count or any(c not in _HEX for c in digits):
            self.error("invalid escape: expected %d hex digits" % count)
        self.pos += count
        return int(digits, 16)

    def unicode_escape(self):
        """After ``\\u``: read XXXX (and a following low surrogate escape, if any)."""
        code = self.hex_digits(4)
        if 0xD800 <= code <= 0xDBFF and self.text.startswith(u"\\u", self.pos):
            save = self.pos
            self.pos += 2
            low = self.hex_digits(4)
            if 0xDC00 <= low <= 0xDFFF:
                return chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00))
            self.pos = save
        return chr(code)

    def string(self):
        text = self.text
        quote = text[self.pos]
        start = self.pos
        self.pos += 1
        chunks = []
        while True:
            if self.pos >= len(text):
                self.error("unterminated string", start)
            ch = text[self.pos]
            if ch == quote:
                self.pos += 1
                return u"".join(chunks)
            if ch == u"\\":
                self.pos += 1
                esc = self.peek()
                if esc == u"":
                    self.error("unterminated string", start)
                if esc in _SINGLE_ESCAPES:
                    self.pos += 1
                    chunks.append(_SINGLE_ESCAPES[esc])
                elif esc == u"u":
                    self.pos += 1
                    chunks.append(self.unicode_escape())
                elif esc == u"x":
                    self.pos += 1
                    chunks.append(chr(self.hex_digits(2)))
                elif esc == u"0":
                    if self.peek(1) in _DIGITS and self.peek(1) != u"":
                        self.error("octal escapes are not allowed")
                    self.pos += 1
                    chunks.append(u"\0")
                elif esc in _DIGITS:
                    self.error("invalid escape \\%s" % esc)
                elif esc in _LINE_TERMINATORS:
                    # line continuation: the backslash and the line break disappear
                    self.pos += 1
                    if esc == u"\r" and self.peek() == u"\n":
                        self.pos += 1
                else:
                    # any other character escapes to itself
                    self.pos += 1
                    chunks.append(esc)
            elif ch in u"\n\r":
                self.error("unescaped line break in a string (use \\n or a trailing backslash)")
            else:
                # copy a run of ordinary characters in one go
                end = self.pos + 1
                while end < len(text) and text[end] not in (quote, u"\\", u"\n", u"\r"):
                    end += 1
                chunks.append(text[self.pos:end])
                self.pos = end

    def number(self):
        text = self.text
        start = self.pos
        sign = 1
        ch = self.peek()
        if ch in u"+-":
            if ch == u"-":
                sign = -1
            self.pos += 1
            ch = self.peek()
        if text.startswith(u"Infinity", self.pos):
            self.pos += len(u"Infinity")
            self.check_number_end(start)
            return sign * float("inf")
        if text.startswith(u"NaN", self.pos):
            self.pos += len(u"NaN")
            self.check_number_end(start)
            return float("nan")
        if ch == u"0" and self.peek(1) in (u"x", u"X") and self.peek(1) != u"":
            self.pos += 2
            digits_start = self.pos
            while self.peek() and self.peek() in _HEX:
                self.pos += 1
            if self.pos == digits_start:
                self.error("invalid hexadecimal number", start)
            self.check_number_end(start)
            return sign * int(text[digits_start:self.pos], 16)
        int_start = self.pos
        while self.peek() and self.peek() in _DIGITS:
            self.pos += 1
        int_digits = text[int_start:self.pos]
        if len(int_digits) > 1 and int_digits[0] == u"0":
            self.error("leading zeros are not allowed in numbers", start)
        frac_digits = u""
        is_float = False
        if self.peek() == u".":
            is_float = True
            self.pos += 1
            frac_start = self.pos
            while self.peek() and self.peek() in _DIGITS:
                self.pos += 1
            frac_digits = text[frac_start:self.pos]
        if not int_digits and not frac_digits:
            self.error("invalid number", start)
        if self.peek() in (u"e", u"E") and self.peek() != u"":
            is_float = True
            self.pos += 1
            if self.peek() in (u"+", u"-") and self.peek() != u"":
                self.pos += 1
            exp_start = self.pos
            while self.peek() and self.peek() in _DIGITS:
                self.pos += 1
            if self.pos == exp_start:
                self.error("invalid number: missing exponent digits", start)
        self.check_number_end(start)
        literal = text[start:self.pos]
        if is_float:
            # float() accepts ".5", "5." and "+.5" as JSON5 does
            return float(literal)
        return int(literal)

    def check_number_end(self, start):
        ch = self.peek()
        if ch and (_is_id_part(ch) or ch == u"."):
            self.error("invalid number", start)


def loads(text):
    """Parse a JSON5 document (``str`` or UTF-8 ``bytes``) into Python objects."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8")
    if text.startswith(u"\ufeff"):
        text = text[1:]
    try:
        return json.loads(text)
    except ValueError:
        pass
    return _Parser(text).parse()
