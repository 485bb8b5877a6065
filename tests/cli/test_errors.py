"""What a failing command says: one line on standard error, the server's
message or the CLI's own, and its exit status; a traceback only with --debug.

The last tests run the real ``openfxn`` script, as a user's shell would."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.cli.conftest import Run, Tags
from tests.conftest import Account
from tests.integration.support import OPENFXN, LiveServer, free_port, loopback_env


def one_line(stderr: str) -> str:
    """The error line of a command that printed nothing else on standard error."""
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_a_bad_key_is_the_servers_401_line(live_server: LiveServer) -> None:
    result = Run(live_server.url, "ofxn_notakey")("predictors", "list")

    assert result.exit_code == 1
    assert one_line(result.stderr).startswith(
        "Error: The access key is not valid: it is mistyped, revoked, or was never "
        "issued by this server."
    )


def test_no_key_says_how_to_give_one(live_server: LiveServer) -> None:
    result = Run(live_server.url, None)("keys", "list")

    assert result.exit_code == 1
    assert one_line(result.stderr) == (
        f"Error: This needs an access key for {live_server.url}. Log in with "
        "'openfxn auth login KEY', or give one with --access-key KEY or "
        "OPENFXN_ACCESS_KEY."
    )


def test_anothers_name_is_the_servers_403_line(run: Run, source: Path) -> None:
    result = run("predictors", "create", "@ivan/mine", str(source / "words.py"))

    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "Error: You can create predictors only under your own name: @hedy/mine."
    )


def test_an_unknown_predictor_is_the_servers_404_line(run: Run) -> None:
    result = run("predict", "@hedy/no-such-predictor", "--x", "1")

    assert result.exit_code == 1
    assert one_line(result.stderr) == (
        "Error: There is no predictor @hedy/no-such-predictor that you can see."
    )


def test_a_taken_tag_is_the_servers_409_line(
    run: Run, tags: Tags, source: Path
) -> None:
    result = run("predictors", "create", tags.words, str(source / "words.py"))

    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        f"Error: The tag {tags.words} is taken. Pass overwrite: true to replace "
        "that predictor, or choose another name."
    )


def test_an_unreachable_server_says_how_to_point_elsewhere() -> None:
    url = f"http://127.0.0.1:{free_port()}"

    result = Run(url, "ofxn_anything")("predictors", "list")

    assert result.exit_code == 1
    assert one_line(result.stderr) == (
        f"Error: The server at {url} cannot be reached. Start one with 'openfxn "
        "serve', or point at another with --api-url URL or OPENFXN_API_URL."
    )


def test_a_wrong_command_line_exits_2(run: Run) -> None:
    result = run("predictors", "retrieve")

    assert result.exit_code == 2
    assert "Missing argument 'TAG'." in result.stderr


@pytest.fixture
def environment(
    live_server: LiveServer, hedy: Account, isolated: Path
) -> dict[str, str]:
    """The environment of the real script: the live server, hedy's key, and
    the test's own credentials file."""
    return loopback_env(
        OPENFXN_API_URL=live_server.url,
        OPENFXN_ACCESS_KEY=hedy.key,
        OPENFXN_CREDENTIALS=str(isolated),
    )


def script(environment: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(OPENFXN), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
        check=False,
    )


def test_the_script_prints_no_traceback(environment: dict[str, str]) -> None:
    result = script(environment, "predictors", "retrieve", "@hedy/nothing-here")

    assert result.returncode == 1
    assert result.stderr == (
        "Error: There is no predictor @hedy/nothing-here that you can see.\n"
    )


def test_debug_shows_the_traceback(environment: dict[str, str]) -> None:
    result = script(environment, "--debug", "predictors", "retrieve", "@hedy/nothing")

    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert "NotFoundError" in result.stderr
    assert "There is no predictor @hedy/nothing that you can see." in result.stderr


def is_reading_a_pipe(process: subprocess.Popen[bytes]) -> bool:
    """Whether ``process`` sleeps in a read of a pipe (``pipe_read``,
    ``anon_pipe_read`` or ``pipe_wait``, by kernel)."""
    return "pipe" in Path(f"/proc/{process.pid}/wchan").read_text()


def test_interrupt_exits_130_quietly(environment: dict[str, str]) -> None:
    process = subprocess.Popen(
        [str(OPENFXN), "env", "create", "WAITING"],  # reads the value from stdin
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
    )
    deadline = time.monotonic() + 10
    while not is_reading_a_pipe(process) and time.monotonic() < deadline:
        time.sleep(0.05)

    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)

    assert process.returncode == 130, stderr.decode()
    assert (stdout, stderr) == (b"", b"")
