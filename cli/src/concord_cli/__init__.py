"""`concord`: the command line of Concord, built on the Python SDK (`concord-sdk`)."""

__version__ = "0.1.0"
