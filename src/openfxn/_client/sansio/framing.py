"""Reading a streamed prediction: bytes in, JSON objects out, in any chunking.

The server frames a stream one of three ways, which the reply's Content-Type
names: NDJSON (one object per line), server-sent events (``data:`` lines
ending with a blank one), or the official clients' framing (whole objects one
after the other, with nothing between). Each parser takes the bytes as they
arrive, however the network splits or joins them, and gives back every object
completed so far; ``close`` says whether anything was left unfinished.
"""

from __future__ import annotations

import codecs
import json
from typing import Any, Protocol

from openfxn._client.errors import OpenfxnError

NDJSON = "application/x-ndjson"
SSE = "text/event-stream"
MAX_OBJECT_BYTES = 256 * 1024 * 1024
"""A guard against a stream that never ends its object."""


class Parser(Protocol):
    def feed(self, data: bytes) -> list[Any]: ...

    def close(self) -> list[Any]: ...


def parser_for(content_type: str | None) -> Parser:
    """The parser for a stream whose Content-Type is ``content_type``."""
    essence = (content_type or "").partition(";")[0].strip().lower()
    if essence == NDJSON:
        return LineParser()
    if essence == SSE:
        return EventParser()
    return ConcatenatedParser()


class LineParser:
    """NDJSON: one JSON object per line; blank lines are skipped."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, data: bytes) -> list[Any]:
        self.buffer += data
        *lines, rest = self.buffer.split(b"\n")
        self.buffer = bytearray(rest)
        check_size(self.buffer)
        return [loads(bytes(line)) for line in lines if line.strip()]

    def close(self) -> list[Any]:
        rest, self.buffer = bytes(self.buffer), bytearray()
        return [loads(rest)] if rest.strip() else []


class EventParser:
    """Server-sent events: an event's ``data:`` lines joined, sent at a blank line.

    Lines may end in CRLF, LF or CR; comments and other fields are ignored.
    """

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.data: list[bytes] = []

    def feed(self, data: bytes) -> list[Any]:
        self.buffer += data
        events = []
        while (line := self.take_line()) is not None:
            if not line:
                events += self.dispatch()
                continue
            name, _, value = line.partition(b":")
            if name == b"data":
                self.data.append(value.removeprefix(b" "))
        check_size(self.buffer)
        return events

    def take_line(self) -> bytes | None:
        for index, byte in enumerate(self.buffer):
            if byte in b"\r\n":
                end = index + 1
                if byte == ord("\r"):
                    if end == len(self.buffer):
                        return None  # its LF may be in the next chunk
                    if self.buffer[end] == ord("\n"):
                        end += 1
                line = bytes(self.buffer[:index])
                del self.buffer[:end]
                return line
        return None

    def dispatch(self) -> list[Any]:
        data, self.data = self.data, []
        return [loads(b"\n".join(data))] if data else []

    def close(self) -> list[Any]:
        # A last line may lack its end, or end in a CR still waiting for its LF.
        ended = self.feed(b"\n") if self.buffer else []
        return ended + self.dispatch()


class ConcatenatedParser:
    """Whole JSON objects with nothing (or only whitespace) between them."""

    def __init__(self) -> None:
        self.text = ""
        # A chunk may end inside a UTF-8 sequence: the decoder keeps its start.
        self.utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.decoder = json.JSONDecoder()

    def feed(self, data: bytes) -> list[Any]:
        self.text += self.utf8.decode(data)
        return self.take(final=False)

    def take(self, *, final: bool) -> list[Any]:
        objects = []
        while self.text.strip():
            start = len(self.text) - len(self.text.lstrip())
            try:
                item, end = self.decoder.raw_decode(self.text, start)
            except ValueError:
                if final:
                    raise broken(self.text[start : start + 80]) from None
                break
            objects.append(item)
            self.text = self.text[end:]
        check_size(self.text)
        return objects

    def close(self) -> list[Any]:
        self.text += self.utf8.decode(b"", final=True)
        return self.take(final=True)


def loads(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        raise broken(data[:80].decode("utf-8", "replace")) from None


def broken(start: str) -> OpenfxnError:
    return OpenfxnError(
        f"The stream holds something that is not a JSON object: {start!r}..."
    )


def check_size(buffer: bytes | bytearray | str) -> None:
    if len(buffer) > MAX_OBJECT_BYTES:
        raise OpenfxnError(
            f"A streamed object is larger than {MAX_OBJECT_BYTES} bytes; the "
            "stream is abandoned."
        )
