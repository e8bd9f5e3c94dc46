"""The llmstruct request models, declared for the hand-rolled validator.

Each spec mirrors one pydantic model of ``fastapi_backend/models.py`` field for field (same order,
bounds and kinds: ``Priority``/``TaskStatus`` are ``Literal`` there, so they fail as
``literal_error``; ``ContextMode`` is an ``Enum``, so it fails as ``enum``).
``tests/custom_backend/test_validation.py`` pins the two against each other.
"""

from __future__ import annotations

from typing import Final

from custom_backend.validation import (
    ChoiceField,
    IntParam,
    ModelSpec,
    StrField,
    StrListField,
)
from engine.tasks import OFFSET_MAX

PRIORITIES: Final = ("low", "medium", "high", "urgent")
TASK_STATUSES: Final = ("open", "in_progress", "done", "cancelled")
CONTEXT_MODES: Final = ("FULL", "FOCUSED", "MINIMAL", "SESSION")

SCAN_REQUEST: Final = ModelSpec(
    "ScanRequest",
    (
        StrListField("paths"),
        StrListField("include_patterns", default=("**/*.py",)),
        StrListField("exclude_patterns"),
    ),
)

TASK_CREATE: Final = ModelSpec(
    "TaskCreateRequest",
    (
        StrField("title", required=True, min_length=1, max_length=200),
        StrField("description", default="", max_length=5000),
        ChoiceField("priority", PRIORITIES, default="medium", kind="literal_error"),
        StrListField("tags"),
        StrField("estimated_effort", max_length=50, nullable=True),
    ),
)

# Only the fields present change (``exclude_unset``); an explicit null is an
# error except for the estimate.
TASK_UPDATE: Final = ModelSpec(
    "TaskUpdateRequest",
    (
        StrField("title", min_length=1, max_length=200),
        StrField("description", max_length=5000),
        ChoiceField("status", TASK_STATUSES, kind="literal_error"),
        ChoiceField("priority", PRIORITIES, kind="literal_error"),
        StrListField("tags"),
        StrField("estimated_effort", max_length=50, nullable=True),
    ),
)

CONTEXT_MODE: Final = ChoiceField("mode", CONTEXT_MODES, kind="enum")
MAX_TOKENS: Final = IntParam("max_tokens", default=8000, ge=1, le=1_000_000)
LIMIT: Final = IntParam("limit", default=50, ge=1, le=200)
OFFSET: Final = IntParam("offset", default=0, ge=0, le=OFFSET_MAX)
STATUS_FILTER: Final = ChoiceField("status", TASK_STATUSES, kind="literal_error")
PRIORITY_FILTER: Final = ChoiceField("priority", PRIORITIES, kind="literal_error")
