"""The legacy stack (seed 000): a FastAPI app that reaches the engine through the llmstruct CLI."""
