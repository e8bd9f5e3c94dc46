"""The front proxy: routing, streaming, WebSockets, shadowing, fallback, fault injection, admin API."""
