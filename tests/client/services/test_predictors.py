"""The predictors service against a real server, with each client."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from openfxn import (
    ConversionError,
    Function,
    NotFoundError,
    PredictorStatus,
    TimeoutError,
    UploadType,
)
from tests.client.conftest import PROVISION_TIMEOUT_S, Tags, fresh_tag, notebook
from tests.conftest import Account

GREETING = 'def predict(name: str) -> str:\n    return f"Hello {name}!"\n'
SLOW_IMPORT = "import time\ntime.sleep(2)\n\ndef predict() -> int:\n    return 1\n"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_retrieve_returns_signature(fxn: Function, tags: Tags) -> None:
    predictor = fxn.predictors.retrieve(tags.failing)

    assert predictor.status == PredictorStatus.ACTIVE
    assert predictor.signature is not None
    assert [p.name for p in predictor.signature.inputs] == ["x"]


def test_list_defaults_to_own_active(fxn: Function, tags: Tags) -> None:
    listed = [predictor.tag for predictor in fxn.predictors.list()]

    assert {tags.echo, tags.words, tags.failing} <= set(listed)


def test_list_of_another_user_shows_public_only(
    as_rival: Function, owner: Account, tags: Tags
) -> None:
    listed = [p.tag for p in as_rival.predictors.list(owner.username, count=100)]

    assert tags.echo in listed
    assert tags.words not in listed


def test_search_finds_by_description(fxn: Function, tags: Tags) -> None:
    found = fxn.predictors.search(tags.search_word)

    assert [predictor.tag for predictor in found] == [tags.echo]


def test_create_from_py_path_then_wait(
    fxn: Function, owner: Account, tmp_path: Path
) -> None:
    source = write(tmp_path, "greeting.py", GREETING)

    created = fxn.predictors.create(fresh_tag(owner, "py"), source, description="Hi")
    ready = fxn.predictors.wait(created.tag, timeout=PROVISION_TIMEOUT_S)

    assert created.status == PredictorStatus.PROVISIONING
    assert ready.status == PredictorStatus.ACTIVE
    assert ready.description == "Hi"


def test_create_from_str_path_of_notebook(
    fxn: Function, owner: Account, tmp_path: Path
) -> None:
    source = write(tmp_path, "greeting.ipynb", notebook(GREETING))

    created = fxn.predictors.create(fresh_tag(owner, "nb"), str(source))

    ready = fxn.predictors.wait(created.tag, timeout=PROVISION_TIMEOUT_S)
    assert ready.status == PredictorStatus.ACTIVE


def test_create_from_data_url(fxn: Function, owner: Account) -> None:
    encoded = base64.b64encode(GREETING.encode()).decode()
    url = f"data:text/x-python;name=greeting.py;base64,{encoded}"

    created = fxn.predictors.create(
        fresh_tag(owner, "data"), url, access="protected", acceleration="cpu"
    )

    ready = fxn.predictors.wait(created.tag)
    assert (ready.status, ready.access) == (PredictorStatus.ACTIVE, "PROTECTED")


def test_create_from_uploaded_url(fxn: Function, owner: Account) -> None:
    url = fxn.storage.upload(
        GREETING.encode(), name="greeting.py", type=UploadType.NOTEBOOK
    )

    created = fxn.predictors.create(fresh_tag(owner, "url"), url)

    assert fxn.predictors.wait(created.tag).status == PredictorStatus.ACTIVE


def test_create_reports_upload_progress(
    fxn: Function, owner: Account, tmp_path: Path
) -> None:
    source = write(tmp_path, "greeting.py", GREETING + "# padding\n" * 20_000)
    seen: list[tuple[int, int]] = []

    fxn.predictors.create(
        fresh_tag(owner, "progress"),
        source,
        progress=lambda sent, total: seen.append((sent, total)),
    )

    size = source.stat().st_size
    assert seen[0] == (0, size)
    assert seen[-1] == (size, size)
    assert len(seen) > 2


def test_create_with_environment_reaches_predict(
    fxn: Function, owner: Account, tmp_path: Path
) -> None:
    source = write(
        tmp_path,
        "secret.py",
        "import os\n\ndef predict() -> str:\n    return os.environ['PLANET']\n",
    )
    tag = fresh_tag(owner, "env")

    fxn.predictors.create(tag, source, environment={"PLANET": "Mars=red"})
    fxn.predictors.wait(tag)

    assert fxn.predictions.create(tag).results == ["Mars=red"]


def test_wait_returns_invalid_with_error(
    fxn: Function, owner: Account, tmp_path: Path
) -> None:
    source = write(tmp_path, "broken.py", "def predict(:\n    pass\n")

    created = fxn.predictors.create(fresh_tag(owner, "broken"), source)
    ended = fxn.predictors.wait(created.tag)

    assert ended.status == PredictorStatus.INVALID
    assert ended.error and "SyntaxError" in ended.error


def test_wait_times_out_while_provisioning(
    fxn: Function, owner: Account, tmp_path: Path
) -> None:
    source = write(tmp_path, "slow.py", SLOW_IMPORT)
    created = fxn.predictors.create(fresh_tag(owner, "slow"), source)

    with pytest.raises(TimeoutError, match="still PROVISIONING"):
        fxn.predictors.wait(created.tag, timeout=0.3)

    assert fxn.predictors.wait(created.tag).status == PredictorStatus.ACTIVE


def test_create_from_missing_file_sends_nothing(
    fxn: Function, owner: Account, tmp_path: Path
) -> None:
    with pytest.raises(ConversionError, match="does not exist"):
        fxn.predictors.create(fresh_tag(owner, "missing"), tmp_path / "nope.py")


def test_archive_then_delete(fxn: Function, owner: Account, tmp_path: Path) -> None:
    tag = fresh_tag(owner, "gone")
    fxn.predictors.create(tag, write(tmp_path, "greeting.py", GREETING))
    fxn.predictors.wait(tag)

    archived = fxn.predictors.archive(tag)
    deleted = fxn.predictors.delete(tag)

    assert archived.status == PredictorStatus.ARCHIVED
    assert deleted is True
    with pytest.raises(NotFoundError):
        fxn.predictors.retrieve(tag)
