"""Allow ``python -m collabcode``."""

from collabcode.cli import main

main()
