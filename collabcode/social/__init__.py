"""Profiles, following, avatars, the dashboard and the activity feed (docs/social.md)."""
