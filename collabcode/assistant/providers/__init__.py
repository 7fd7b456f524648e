"""AI provider clients: OpenAI-compatible chat over SSE plus fill-in-the-middle routes.

Every provider speaks the same small interface (:class:`~.base.Provider`); which class serves an
instance is decided once at start from the settings (:func:`~.factory.build_provider`).
"""
