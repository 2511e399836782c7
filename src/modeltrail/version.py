"""The version of modeltrail, in a module of its own: the server and the SDK report it without
importing the package's public surface (which is the SDK)."""

__version__ = "0.1.0"
