"""The shadow package's configuration names; the schema itself is :mod:`gateway.config_shadow`.

It lives beside :mod:`gateway.config`, which embeds the shadow blocks and must import their types
without importing this package (whose ``__init__`` imports the gateway config).
"""

from gateway.config_shadow import KNOWN_METHODS as KNOWN_METHODS
from gateway.config_shadow import SAFE_METHODS as SAFE_METHODS
from gateway.config_shadow import RouteShadowConfig as RouteShadowConfig
from gateway.config_shadow import ShadowConfigError as ShadowConfigError
from gateway.config_shadow import ShadowSettings as ShadowSettings
from gateway.config_shadow import parse_cpus as parse_cpus
from gateway.config_shadow import parse_route_shadow as parse_route_shadow
from gateway.config_shadow import parse_shadow_settings as parse_shadow_settings
