"""The llmstruct API version reported by health and status (contracts/API.md)."""

VERSION = "0.1.0"
