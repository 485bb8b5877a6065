"""A loopback listener that hostile code tries to reach from the sandbox."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Listener:
    """A loopback TCP port and a Unix socket in a 0777 directory, counting
    the connections they receive."""

    port: int
    unix_path: Path
    connections: int = 0


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[Listener]:
    tcp = socket.create_server(("127.0.0.1", 0))
    directory = tmp_path / "sockets"
    directory.mkdir(mode=0o777)
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(str(directory / "db.sock"))
    os.chmod(directory / "db.sock", 0o777)
    unix.listen()
    found = Listener(tcp.getsockname()[1], directory / "db.sock")

    def accept(server: socket.socket) -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            found.connections += 1
            connection.close()

    for server in (tcp, unix):
        threading.Thread(target=accept, args=(server,), daemon=True).start()
    yield found
    tcp.close()
    unix.close()
