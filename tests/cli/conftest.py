"""Fixtures of the CLI's tests: accounts and predictors on the live server, and
``Run``, the ``openfxn`` command run in-process as one account.

Every test runs with the credentials file under its own ``tmp_path``, and with
no ``OPENFXN_*`` or ``FXN_*`` setting of the machine, so that nothing of the
real home is read or written.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from openfxn import AccessMode, Function, PredictorStatus
from openfxn.cli import app
from tests.client.conftest import PROVISION_TIMEOUT_S, make_account, notebook
from tests.conftest import Account
from tests.integration.support import LiveServer

TYPED = """\
from pathlib import Path

from PIL import Image, ImageOps


def describe(value):
    if isinstance(value, Image.Image):
        return ["Image", value.mode, list(value.size)]
    if isinstance(value, Path):
        return ["Path", value.read_text()]
    return [type(value).__name__, value]


def predict(
    text: str,
    count: int,
    ratio: float,
    flag: bool,
    items: list,
    mapping: dict,
    picture: Image.Image,
    blob: Path,
    first_name: str = "",
    anything=None,
):
    received = {name: describe(value) for name, value in locals().items()}
    return received, ImageOps.mirror(picture), blob.read_bytes()
"""
WORDS = """\
def predict(sentence: str):
    for word in sentence.split():
        yield word
"""
FAILING = """\
def predict(x: int, json: bool = False) -> int:
    raise ValueError(f"{x} is not welcome here (json={json})")
"""
SECRETS = """\
import os


def predict() -> str:
    return f"{os.environ['CLI_SECRET']} {os.environ['CLI_OWN']}"
"""
MISSING_MODULE = (
    "import nonexistent_module_xyz\n\n\ndef predict() -> int:\n    return 1\n"
)


@dataclass(frozen=True)
class Run:
    """``openfxn ARGS`` in-process, against ``url``, with ``key`` (none when
    None: the stored credentials then count)."""

    url: str
    key: str | None

    def __call__(self, *args: str, input: str | None = None, **env: str) -> Result:
        variables: dict[str, str | None] = {
            "OPENFXN_API_URL": self.url,
            "OPENFXN_ACCESS_KEY": self.key,
            **env,
        }
        return CliRunner().invoke(app, list(args), input=input, env=variables)


@dataclass(frozen=True)
class Tags:
    """The session's predictors, all ACTIVE and owned by ``hedy``."""

    typed: str
    """A notebook with an input of each type; returns what it received, the
    picture mirrored, and the blob's bytes."""
    words: str
    """A public generator yielding each word of ``sentence``."""
    failing: str
    """Raises ValueError, naming its inputs ``x`` and ``json``."""
    search_word: str
    """A word only ``words``'s description holds."""


def fresh_tag(account: Account, stem: str) -> str:
    return f"@{account.username}/{stem}-{uuid.uuid4().hex[:8]}"


def failure(result: Result) -> str:
    """What a failing assertion shows about a command."""
    return (
        f"exit {result.exit_code}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The credentials file of this test (it does not exist yet)."""
    for variable in (
        "OPENFXN_ACCESS_KEY", "OPENFXN_API_URL", "FXN_ACCESS_KEY", "FXN_API_URL",
        "TTY_COMPATIBLE", "TTY_INTERACTIVE", "FORCE_COLOR", "COLUMNS",
    ):  # fmt: skip
        monkeypatch.delenv(variable, raising=False)
    path = tmp_path / "config" / "credentials.json"
    monkeypatch.setenv("OPENFXN_CREDENTIALS", str(path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return path


@pytest.fixture(scope="session")
def hedy(live_server: LiveServer) -> Account:
    """The account the CLI tests act as; it owns the session's predictors."""
    return make_account(live_server, "hedy")


@pytest.fixture(scope="session")
def as_ivan(live_server: LiveServer) -> Run:
    """The CLI as ivan, another account: for what one may not do to another's
    things."""
    return Run(live_server.url, make_account(live_server, "ivan").key)


@pytest.fixture
def run(live_server: LiveServer, hedy: Account) -> Run:
    return Run(live_server.url, hedy.key)


def provision(
    server: LiveServer,
    account: Account,
    sources: dict[str, Path],
    public: dict[str, str] | None = None,
) -> dict[str, str]:
    """A predictor of each source, all ACTIVE, their tags by stem; those in
    ``public`` PUBLIC, with its description."""
    public = public or {}
    made = {}
    with Function(account.key, server.url) as fxn:
        for stem, path in sources.items():
            made[stem] = fxn.predictors.create(
                fresh_tag(account, stem),
                path,
                access=AccessMode.PUBLIC if stem in public else None,
                description=public.get(stem),
            ).tag
        for tag in made.values():
            predictor = fxn.predictors.wait(tag, timeout=PROVISION_TIMEOUT_S)
            assert predictor.status == PredictorStatus.ACTIVE, (
                f"{tag} ended {predictor.status}: {predictor.error}\n{predictor.log}"
            )
    return made


@pytest.fixture(scope="session")
def tags(
    live_server: LiveServer, hedy: Account, tmp_path_factory: pytest.TempPathFactory
) -> Tags:
    folder = tmp_path_factory.mktemp("cli-predictors")
    sources = {
        "typed": ("typed.ipynb", notebook("%pip install pillow", TYPED)),
        "words": ("words.py", WORDS),
        "failing": ("failing.py", FAILING),
    }
    for name, text in sources.values():
        (folder / name).write_text(text, encoding="utf-8")
    paths = {stem: folder / name for stem, (name, _) in sources.items()}
    search_word = f"quokka{uuid.uuid4().hex[:10]}"
    public = {"words": f"Words, for {search_word}"}
    return Tags(**provision(live_server, hedy, paths, public), search_word=search_word)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A folder holding the sources of predictors the tests create."""
    folder = tmp_path / "sources"
    folder.mkdir()
    for name, text in {
        "words.py": WORDS,
        "secrets.py": SECRETS,
        "missing_module.py": MISSING_MODULE,
    }.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder
