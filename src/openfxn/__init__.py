"""openfxn: serve Python predictors, and call them from Python.

The client library and CLI live in this package; the server is the optional
``openfxn[server]`` extra, under :mod:`openfxn.server`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("openfxn")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
