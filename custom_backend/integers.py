"""pydantic-core's lax ``str`` → ``int``, reproduced for query parameters (``validation.IntParam``).

Kept apart from the field validators because the rules are pydantic-core's own and only testable
against it: Rust's whitespace trim, single underscores between digits, an optional ``.000`` suffix,
and past Python's ``int_max_str_digits`` (4300) an answer that depends on how the number is spelled.
"""

from __future__ import annotations

import re
import sys
from typing import Final

# Rust's ``str::trim`` (pydantic-core strips integer strings with it): the
# Unicode White_Space property.
_RUST_WHITESPACE: Final = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)
# pydantic-core's lax str -> int: ASCII digits, single underscores between digits, optional ".000".
_INT_STRING: Final = re.compile(r"[+-]?[0-9](?:_?[0-9])*(?:\.0+)?", re.ASCII)
_PLAIN_INT: Final = re.compile(r"-?[1-9][0-9]*", re.ASCII)


class IntTooLong(ValueError):
    """More digits than Python's ``int`` parses (pydantic's ``int_parsing_size``)."""


def parse_int(text: str) -> int | None:
    """pydantic's lax ``int`` from a string, or None when it would report ``int_parsing``.

    Beyond ``sys.get_int_max_str_digits()`` digits (4300) pydantic-core hands the string to
    Python's ``int``, which refuses it: a plain ``-?[1-9][0-9]*`` is then
    ``int_parsing_size`` (``IntTooLong`` here); any other spelling (``+``, ``_``, leading
    zeros) is judged by its digits without them, and is ``int_parsing`` when those are still
    too many. Pinned against pydantic in the tests.
    """
    stripped = text.strip(_RUST_WHITESPACE)
    if _INT_STRING.fullmatch(stripped) is None:
        return None
    number = stripped.partition(".")[0]
    try:
        return int(number)
    except ValueError:
        if _PLAIN_INT.fullmatch(number) is not None:
            raise IntTooLong(number) from None
    sign = "-" if number.startswith("-") else ""
    digits = number.lstrip("+-").replace("_", "").lstrip("0") or "0"
    if len(digits) > sys.get_int_max_str_digits():
        return None
    return int(sign + digits)
