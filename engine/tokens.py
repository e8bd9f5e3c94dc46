"""A deterministic, offline token count.

Real tokenizers need downloaded vocabularies; the budget only has to be stable and roughly
proportional, so one token is one match of ``\\w+|[^\\w\\s]`` (a word, or a single
punctuation character) in the compact JSON (``separators=(",", ":")``, keys in insertion
order, non-ASCII kept) of a context entry. Both backends and the CLI therefore report the
same ``token_count`` for the same context.
"""

from __future__ import annotations

import json
import re
from typing import Any

TOKEN_RE = re.compile(r"\w+|[^\w\s]")


def compact_json(value: Any) -> str:
    """The exact text the count is taken over."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def count_tokens(value: Any) -> int:
    """Tokens in the compact JSON of ``value``."""
    return sum(1 for _ in TOKEN_RE.finditer(compact_json(value)))
