"""Stream parsers: the same objects, however the bytes are split or joined."""

from __future__ import annotations

import json
from typing import Any

import pytest

from openfxn import OpenfxnError
from openfxn._client.sansio.framing import (
    ConcatenatedParser,
    EventParser,
    LineParser,
    Parser,
    parser_for,
)

OBJECTS = [{"id": "p", "results": ["Grüße 🌍"]}, {"id": "p", "n": 2}, {"x": "y" * 300}]


def feed_in_pieces(parser: Parser, data: bytes, size: int) -> list[Any]:
    found = []
    for start in range(0, len(data), size):
        found += parser.feed(data[start : start + size])
    return found + parser.close()


def ndjson() -> bytes:
    return b"".join(json.dumps(item).encode() + b"\n" for item in OBJECTS)


def sse(newline: bytes) -> bytes:
    events = [b"data: " + json.dumps(item).encode() for item in OBJECTS]
    return (
        newline.join(
            [
                b": a comment",
                b"event: prediction",
                *[event + newline for event in events],
            ]
        )
        + newline
    )


@pytest.mark.parametrize("size", [1, 2, 7, 1000])
def test_lines_survive_any_chunking(size: int) -> None:
    assert feed_in_pieces(LineParser(), ndjson(), size) == OBJECTS


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
@pytest.mark.parametrize("size", [1, 3, 1000])
def test_events_survive_any_chunking_and_newline(newline: bytes, size: int) -> None:
    assert feed_in_pieces(EventParser(), sse(newline), size) == OBJECTS


def test_event_with_several_data_lines_is_joined() -> None:
    parser = EventParser()

    found = parser.feed(b'data: {"a":\ndata: 1}\n\n')

    assert found == [{"a": 1}]


@pytest.mark.parametrize("size", [1, 5, 1000])
def test_concatenated_objects_split_or_coalesced(size: int) -> None:
    data = b"".join(json.dumps(item).encode() for item in OBJECTS)

    assert feed_in_pieces(ConcatenatedParser(), data, size) == OBJECTS


def test_unfinished_object_at_end_is_an_error() -> None:
    parser = ConcatenatedParser()
    parser.feed(b'{"id": "p", "res')

    with pytest.raises(OpenfxnError, match="not a JSON object"):
        parser.close()


def test_content_type_chooses_parser() -> None:
    assert isinstance(parser_for("application/x-ndjson"), LineParser)
    assert isinstance(parser_for("text/event-stream; charset=utf-8"), EventParser)
    assert isinstance(parser_for("application/json"), ConcatenatedParser)
