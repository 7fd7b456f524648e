"""Phone numbers for discovery: E.164 normalisation (``phonenumbers``), keyed hashes and hints.

A number is stored only as ``HMAC-SHA256(hash_key, "phone:" + E.164)``: someone who reads the
database cannot list the numbers, and matching a number needs the instance's key. Its owner is
shown a hint (country code and last two digits), never the number.
"""

from __future__ import annotations

import hashlib
import hmac

import phonenumbers


class InvalidPhoneNumber(ValueError):
    """Not a valid phone number (``rule`` says why, for the 422 body)."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


def normalize(text: str, region: str | None = None) -> str:
    """The E.164 form (``+447911123456``) of ``text``; numbers without ``+`` need ``region``."""
    raw = text.strip()
    if not raw or any(ord(c) < 32 for c in raw):
        raise InvalidPhoneNumber("invalid_phone_number", "This is not a phone number.")
    if not raw.startswith("+") and region is None:
        raise InvalidPhoneNumber(
            "region_required", "Start the number with + and the country code, or give a region such as GB."
        )
    try:
        number = phonenumbers.parse(raw, region.upper() if region else None)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber("invalid_phone_number", "This is not a phone number.") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber("invalid_phone_number", "This is not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_hash(key: str, e164: str) -> str:
    return hmac.new(key.encode("utf-8"), b"phone:" + e164.encode("ascii"), hashlib.sha256).hexdigest()


def hint(e164: str) -> str:
    """``+44 ••• 56``: enough for its owner to recognise the number, useless to anyone else."""
    country = phonenumbers.parse(e164).country_code
    return f"+{country} ••• {e164[-2:]}"
