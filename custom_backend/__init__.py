"""The new stack (seed 001): lean ASGI, the engine in-process, no FastAPI, Starlette or pydantic.

Map: ``app`` (the ASGI callable, order of checks), ``routing`` (precompiled routes), ``request`` /
``responses`` (the HTTP primitives), ``body`` + ``validation`` + ``schemas`` (FastAPI's parsing and
pydantic's 422s, hand-rolled), ``auth``, ``cors``, ``handlers`` (engine calls), ``cache`` (exact
read caches), ``websocket`` (``/api/v1/ws`` in raw ASGI), ``metrics``, ``settings`` (``LLMSTRUCT_*``
without pydantic), ``server`` (uvicorn + uvloop + httptools; ``python -m custom_backend``).

Decisions where the brief was silent:

- The baseline (``fastapi_backend``) is the reference wherever it and ``contracts/API.md`` could
  differ; the parity suite (``tests/parity``) compares both apps on every endpoint and error path.
- Engine failures answer like the baseline's in-process bridge: ``InvalidInput`` 400,
  ``NotFound`` 404, any other ``EngineError`` 502 with its message; an unexpected exception
  is Starlette's plain-text 500.
- A JSON body containing ``NaN`` that fails validation is answered 422 with ``null`` as
  the echoed input; FastAPI crashes on it (500) when it serialises the error — the one
  place the candidate does better.
- A binary WebSocket frame is read as UTF-8 text; the baseline's ``receive_text`` fails on it.
- Read endpoints are cached exactly (see ``cache``): the answer is reused only while the database,
  the file tree (project info) or ``pyproject.toml`` (contexts) are unchanged. ``--no-cache`` turns
  it off.
"""
