"""Requirements install into an environment of the predictor's own, for real,
with uv, from a wheel made here and offered on a local folder (uv runs
offline, so nothing leaves the machine)."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import Account
from tests.server.services.test_predictors import create, notebook

PACKAGE = "openfxn-sample-dep"
MODULE = "openfxn_sample_dep"
USES_IT = f"import {MODULE}\n\ndef predict() -> int:\n    return {MODULE}.VALUE"


def build_wheel(folder: Path) -> None:
    """The smallest valid wheel of PACKAGE 1.0: one module and its metadata."""
    info = f"{MODULE}-1.0.dist-info"
    files = {
        f"{MODULE}.py": "VALUE = 42\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {PACKAGE}\nVersion: 1.0\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\n"
        "Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [
        f"{name},sha256={digest(text)},{len(text.encode())}"
        for name, text in files.items()
    ]
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    with zipfile.ZipFile(folder / f"{MODULE}-1.0-py3-none-any.whl", "w") as wheel:
        for name, text in files.items():
            wheel.writestr(name, text)


def digest(text: str) -> str:
    raw = hashlib.sha256(text.encode()).digest()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.fixture(autouse=True)
def local_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    build_wheel(wheels)
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("UV_FIND_LINKS", str(wheels))
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))


async def test_requirement_installs_into_own_environment(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    source = notebook(("code", f"%pip install {PACKAGE}==1.0"), ("code", USES_IT))

    first = await create(app, client, ada, source, "a.ipynb", tag="@ada/first")
    second = await create(app, client, ada, source, "a.ipynb", tag="@ada/second")

    assert first["status"] == "ACTIVE", first["error"]
    assert second["status"] == "ACTIVE", second["error"]
    environments = app.state.settings.data / "environments"
    built = [path for path in environments.iterdir() if path.is_dir()]
    assert len(built) == 1  # the same requirements share one environment
    assert list(built[0].glob(f"lib/python*/site-packages/{MODULE}.py"))


async def test_module_is_not_in_the_server_environment(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    predictor = await create(app, client, ada, USES_IT, tag="@ada/without")

    assert predictor["status"] == "INVALID"
    assert f"needs the module `{MODULE}`" in predictor["error"]


async def test_requirement_that_does_not_install_is_named(
    app: FastAPI, client: httpx.AsyncClient, ada: Account
) -> None:
    source = notebook(
        ("code", "%pip install openfxn-no-such-package"),
        ("code", "def predict() -> int:\n    return 1"),
    )

    predictor = await create(app, client, ada, source, "a.ipynb")

    assert predictor["status"] == "INVALID"
    assert "The requirements did not install" in predictor["error"]
    assert "openfxn-no-such-package" in predictor["error"]
