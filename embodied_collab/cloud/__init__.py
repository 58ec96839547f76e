"""Cloud LLM: OpenAI-compatible client, task decomposition, privacy filter, local server."""
