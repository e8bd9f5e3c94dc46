"""The new stack (seed 001): a lean ASGI app that calls the engine in-process. No FastAPI, Starlette or pydantic."""
