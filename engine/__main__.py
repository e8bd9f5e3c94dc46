"""``python -m engine`` runs the ``llmstruct`` CLI."""

import sys

from engine.cli import main

sys.exit(main())
