"""Workspaces: members and roles, the file tree, file contents, import and export.

``routes`` (HTTP) -> ``service`` (the rules) -> ``store`` (the SQL). ``paths`` holds the path
rules, ``plan`` works out tree changes, ``archive`` reads and writes zips, ``contents`` and
``authorizer`` connect to the collaboration feature, ``events`` delivers tree changes, and
``feature`` assembles it all when the app starts. See docs/workspaces.md.
"""
