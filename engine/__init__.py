"""The llmstruct core engine: project scanner, context builder, task store and CLI. No HTTP here."""
