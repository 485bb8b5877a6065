"""Where the client finds its access key and server, and where the CLI keeps them.

A client's access key is the first of: the ``access_key`` argument,
``OPENFXN_ACCESS_KEY``, ``FXN_ACCESS_KEY``, the stored credentials. Its API
URL is the first of: the ``api_url`` argument, ``OPENFXN_API_URL``,
``FXN_API_URL``, the stored credentials' URL, ``http://127.0.0.1:8000``.

The stored credentials live in ``$XDG_CONFIG_HOME/openfxn/credentials.json``
(``~/.config/openfxn/credentials.json`` by default; ``OPENFXN_CREDENTIALS``
names another file), readable by their owner only. A stored key is used only
against the server it was stored for, so that pointing the client elsewhere
never sends it to another host.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "DEFAULT_API_URL",
    "Credentials",
    "credentials_path",
    "delete_credentials",
    "load_credentials",
    "resolve",
    "save_credentials",
]

DEFAULT_API_URL = "http://127.0.0.1:8000"
"""The server a client talks to when nothing names another."""

KEY_VARIABLES = ("OPENFXN_ACCESS_KEY", "FXN_ACCESS_KEY")
URL_VARIABLES = ("OPENFXN_API_URL", "FXN_API_URL")


@dataclass(frozen=True)
class Credentials:
    """An access key and the server it belongs to."""

    access_key: str = field(repr=False)
    api_url: str = DEFAULT_API_URL


def credentials_path() -> Path:
    """The file the credentials are stored in (it may not exist)."""
    named = os.environ.get("OPENFXN_CREDENTIALS")
    if named:
        return Path(named).expanduser()
    config = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(config) / "openfxn" / "credentials.json"


def save_credentials(
    access_key: str, api_url: str = DEFAULT_API_URL, *, path: Path | None = None
) -> Path:
    """Store ``access_key`` for the server at ``api_url``; return the file.

    The file is replaced at once (never left half-written) and made readable
    by its owner only (mode 0600), in a folder only its owner can enter.
    """
    path = path or credentials_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = json.dumps({"access_key": access_key, "api_url": normalize_url(api_url)})
    descriptor, temporary = tempfile.mkstemp(prefix=".credentials-", dir=path.parent)
    try:
        # mkstemp creates the file with mode 0600 already.
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text + "\n")
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return path


def load_credentials(*, path: Path | None = None) -> Credentials | None:
    """The stored credentials, or None when there are none (or they are unreadable)."""
    path = path or credentials_path()
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or not isinstance(stored.get("access_key"), str):
        return None
    url = stored.get("api_url")
    return Credentials(
        stored["access_key"], url if isinstance(url, str) else DEFAULT_API_URL
    )


def delete_credentials(*, path: Path | None = None) -> bool:
    """Remove the stored credentials; False when there were none."""
    try:
        (path or credentials_path()).unlink()
    except FileNotFoundError:
        return False
    return True


def resolve(access_key: str | None, api_url: str | None) -> tuple[str | None, str]:
    """The access key (or None) and API URL a client uses, as the module says."""
    url = api_url or _first(URL_VARIABLES)
    key = access_key or _first(KEY_VARIABLES)
    stored = load_credentials() if key is None or url is None else None
    if url is None:
        url = stored.api_url if stored else DEFAULT_API_URL
    url = normalize_url(url)
    if key is None and stored is not None and normalize_url(stored.api_url) == url:
        key = stored.access_key
    return key, url


def normalize_url(url: str) -> str:
    """``url`` without a trailing slash, or the ``/graph`` that clients before
    fxn 0.0.22 put in ``FXN_API_URL``."""
    url = url.strip().rstrip("/")
    for suffix in ("/graph", "/graphql"):
        url = url.removesuffix(suffix)
    return url


def _first(variables: tuple[str, ...]) -> str | None:
    for variable in variables:
        value = os.environ.get(variable, "").strip()
        if value:
            return value
    return None
