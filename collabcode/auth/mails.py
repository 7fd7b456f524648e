"""The text of the mail the accounts feature sends. Links point at the web app's pages."""

from __future__ import annotations

from collabcode.mail import Mail


def verification(to: str, link: str, hours: int) -> Mail:
    return Mail(
        to=to,
        subject="Confirm your email address for collabcode",
        text=(
            "Welcome to collabcode!\n\n"
            f"Confirm that this is your email address by opening this link within {hours} hours:\n\n"
            f"{link}\n\n"
            "If you did not create an account, ignore this message.\n"
        ),
    )


def account_exists(to: str, signin_link: str, forgot_link: str) -> Mail:
    return Mail(
        to=to,
        subject="Someone tried to sign up with your email address",
        text=(
            "Someone (maybe you) tried to create a collabcode account with this email address, "
            "but an account with it already exists.\n\n"
            f"Sign in: {signin_link}\n"
            f"Forgot your password? {forgot_link}\n\n"
            "If this was not you, you can ignore this message: nothing was changed.\n"
        ),
    )


def password_reset(to: str, link: str, minutes: int) -> Mail:
    return Mail(
        to=to,
        subject="Reset your collabcode password",
        text=(
            f"Open this link within {minutes} minutes to choose a new password:\n\n"
            f"{link}\n\n"
            "Setting a new password signs you out everywhere. If you did not ask for this, ignore this "
            "message: your password stays the same.\n"
        ),
    )
