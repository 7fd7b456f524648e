"""Accounts: sign-up, sign-in, sessions and tokens, roles; see docs/auth.md."""
