"""Shared WebSocket machinery: the registry of open sockets, tickets, the per-user hub."""
