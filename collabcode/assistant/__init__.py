"""The AI coding assistant: inline completions and a code-aware chat (docs/assistant.md)."""
