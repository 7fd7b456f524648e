"""Side-by-side collaboration benchmark: a y-websocket load generator and the servers it drives.

Modules: ``wire`` (frames and one client connection), ``edits`` (updates and documents the
clients send), ``targets`` (the servers under test and their processes), ``loadgen`` (client
worker processes), ``scenarios`` (what is measured) and ``report`` (tables and ratios).
"""
