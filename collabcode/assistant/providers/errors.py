"""What can go wrong talking to a provider, as AppErrors the API answers with.

The messages are ours, never the provider's text (which may echo a key or a prompt); the
provider's detail goes to the log, where the redaction filter masks the API key.
"""

from __future__ import annotations

from collabcode.errors import AppError, ServiceUnavailable


class ProviderFailed(AppError):
    """The provider answered, but not with something usable (5xx, refused key, malformed stream)."""

    status, code, message = 502, "ai_provider_error", "The AI provider answered with an error; try again."


class ProviderUnavailable(ServiceUnavailable):
    """The provider could not be reached, is overloaded, or did not answer in time."""

    def __init__(self, message: str | None = None, *, retry_after: int = 5, code: str = "ai_unavailable") -> None:
        super().__init__(
            message or "The AI provider cannot be reached; try again shortly.", retry_after=retry_after, code=code
        )


def provider_timeout(seconds: float) -> ProviderUnavailable:
    return ProviderUnavailable(f"The AI provider did not answer within {seconds:g} s; try again.", code="ai_timeout")


def malformed() -> ProviderFailed:
    return ProviderFailed("The AI provider sent a malformed answer.", code="ai_malformed_answer")


def cut_off() -> ProviderFailed:
    return ProviderFailed("The AI provider's answer was cut off; try again.", code="ai_answer_cut_off")
