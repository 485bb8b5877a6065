"""Logging: readable lines in a terminal, one JSON object per line for machines.

Two loggers, named by audience: ``openfxn.server`` for lifecycle and failures,
``openfxn.access`` for one line per request. Neither ever receives an access
key or an Authorization header: the access line is built from the method,
path, status, duration and the caller's username only.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import orjson

from openfxn.server.settings import LogFormat

# Attributes every LogRecord has; anything else was passed in `extra` and is a field.
STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
}


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in STANDARD_ATTRIBUTES:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)-7s %(name)s  %(message)s", "%H:%M:%S"
        )


def configure_logging(log_format: LogFormat, level: str) -> None:
    """Route openfxn's and uvicorn's loggers to standard error in one format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JSONFormatter() if log_format == LogFormat.JSON else TextFormatter()
    )
    for name in ("openfxn", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
    # openfxn writes its own access line; uvicorn's would repeat it.
    logging.getLogger("uvicorn.access").disabled = True
