"""The shadow package's configuration names; the schema itself is :mod:`gateway.config_shadow`.

It lives beside :mod:`gateway.config`, which embeds the shadow blocks and must import their types
without importing this package (whose ``__init__`` imports the gateway config).
"""

from gateway.config_shadow import (
    DEFAULT_REDACT_HEADERS,
    KNOWN_METHODS,
    SAFE_METHODS,
    RouteShadowConfig,
    ShadowConfigError,
    ShadowSettings,
    parse_cpus,
    parse_route_shadow,
    parse_shadow_settings,
)

__all__ = [
    "DEFAULT_REDACT_HEADERS",
    "KNOWN_METHODS",
    "SAFE_METHODS",
    "RouteShadowConfig",
    "ShadowConfigError",
    "ShadowSettings",
    "parse_cpus",
    "parse_route_shadow",
    "parse_shadow_settings",
]
