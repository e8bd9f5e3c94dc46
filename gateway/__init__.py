"""The front proxy: routing, streaming, WebSockets, shadowing, fallback, fault injection, admin API.

Map: ``config`` (YAML + ``CUTOVER_*`` → frozen values), ``routing`` (pure backend choice),
``headers`` (pure RFC 9110 header rewriting), ``faults`` (pure fault decision), ``http`` (the
asyncio/httptools server layer), ``upstream`` (own HTTP/1.1 client and keep-alive pool),
``proxy`` (task path: bodies, fallback, faults, taps), ``fastpath`` (callback path for body-less
requests), ``websocket`` (raw relay after 101), ``state`` (weights/faults + in-process API),
``metrics``, ``observer`` (observer and response-tap seams), ``admin``/``admin_routes`` (admin
listener), ``server`` (``Gateway``/``serve``/``run``), ``commands`` (CLI). ``shadow`` plugs in
through ``ResponseTap`` and ``admin_extensions``.
"""
