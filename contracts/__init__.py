"""The API contract: OpenAPI document, per-operation schemas, validators, diff and check."""
