"""collabcode: a self-hostable collaborative coding platform in one Python package."""

__version__ = "0.1.0"
