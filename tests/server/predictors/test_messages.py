"""The worker pipe's framing: a JSON header line, then the values' bytes."""

from __future__ import annotations

import io

import pytest

from openfxn.server.predictors import messages
from openfxn.server.predictors.values import Raw

TENSOR = Raw("float32", [3], b"\x00\x00\x80?" * 3)
TEXT = Raw("string", None, "héllo\n".encode())
NULL = Raw("null", None, None)


def read(stream: io.BytesIO) -> messages.Message:
    """One message off ``stream``, as the worker reads its stdin."""
    header, size = messages.read_header(stream.readline())
    return messages.decode(header, stream.read(size))


@pytest.mark.parametrize(
    "message",
    [
        messages.Predict("p1", {"a": TENSOR, "b": TEXT, "c": NULL}),
        messages.Predict("p2", {}),
        messages.Ready(12.5),
        messages.LoadFailed("no predict"),
        messages.Partial("p3", [TEXT]),
        messages.Done("p4", [TENSOR, NULL, TEXT], None, 1.5, "printed\n"),
        messages.Done("p5", None, "Traceback ...", 0.0),
    ],
    ids=["predict", "no-inputs", "ready", "load-failed", "partial", "done", "error"],
)
def test_every_message_comes_back_as_sent(message: messages.Message) -> None:
    encoded = messages.encode(message)

    assert read(io.BytesIO(encoded + encoded)) == message  # and stops at its end


def test_values_travel_as_their_bytes_after_the_header() -> None:
    encoded = messages.encode(messages.Predict("p", {"a": TENSOR, "b": TEXT}))
    head, _, rest = encoded.partition(b"\n")
    header, size = messages.read_header(head + b"\n")

    assert rest == TENSOR.data + TEXT.data
    assert size == len(rest)
    assert header["inputs"]["a"]["size"] == len(TENSOR.data or b"")
    assert b"data" not in head  # no base64 copy in the header


def test_a_single_value_is_handed_on_without_a_copy() -> None:
    payload = bytes(400_000)
    tensor = Raw("float32", [100_000], payload)
    line = messages.encode(messages.Predict("p", {"a": tensor})).partition(b"\n")[0]
    header, _ = messages.read_header(line)

    decoded = messages.decode(header, payload)

    assert isinstance(decoded, messages.Predict)
    assert decoded.inputs["a"].data is payload


@pytest.mark.parametrize(
    ("line", "payload"),
    [
        (b"[1, 2]\n", b""),  # not an object
        (b'{"kind": "ready", "cold_start_ms": 1, "bytes": -1}\n', b""),
        (b'{"kind": "ready", "cold_start_ms": 1, "bytes": "9"}\n', b""),
        (b'{"kind": "nothing", "bytes": 0}\n', b""),
        (
            b'{"kind": "partial", "id": "p", "bytes": 2, "results": '
            b'[{"raw": true, "type": "string", "shape": null, "size": 5}]}\n',
            b"ab",
        ),  # a value runs past the bytes sent
        (
            b'{"kind": "partial", "id": "p", "bytes": 3, "results": '
            b'[{"raw": true, "type": "string", "shape": null, "size": 1}]}\n',
            b"abc",
        ),  # bytes left over
        (
            b'{"kind": "partial", "id": "p", "bytes": 0, "results": '
            b'[{"raw": true, "type": "string", "shape": null, "size": -1}]}\n',
            b"",
        ),
        (b"not json\n", b""),
    ],
)
def test_a_malformed_message_raises_what_the_server_catches(
    line: bytes, payload: bytes
) -> None:
    with pytest.raises((ValueError, KeyError, TypeError)):
        header, _ = messages.read_header(line)
        messages.decode(header, payload)
