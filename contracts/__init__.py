"""The API contract: exported OpenAPI document, per-operation JSON Schemas, validators, diff and check."""
