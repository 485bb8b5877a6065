"""The three functions on Ray Serve, with its best fair settings.

One replica behind a FastAPI ingress, taking up to 100 requests at once (the
default of 5 caps sleep at 100 requests/s). Ray runs without its dashboard and
keeps all its traffic on loopback; access logs are off. The process stays in
the foreground until SIGTERM, then shuts Ray down::

    python ray_service.py --port PORT

No ``from __future__ import annotations`` here: FastAPI reads the routes'
annotations at runtime, and the strings would not resolve through Ray's ingress.
"""

import argparse
import signal
import tempfile
import threading
from types import FrameType
from typing import Annotated, Any

import functions
import ray
from fastapi import Body, FastAPI
from ray import serve

LOGGING = {"enable_access_log": False, "log_level": "WARNING"}

app = FastAPI()


@serve.deployment(num_replicas=1, max_ongoing_requests=100, logging_config=LOGGING)
@serve.ingress(app)
class Peer:
    @app.post("/greeting")
    def greeting(self, body: Annotated[dict[str, Any], Body()]) -> str:
        return functions.greeting(body["name"])

    @app.post("/tensor")
    def tensor(self, body: Annotated[dict[str, Any], Body()]) -> float:
        return functions.tensor_sum(body["data"])

    @app.post("/sleep")
    def sleep(self) -> str:
        return functions.sleep()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    with tempfile.TemporaryDirectory(prefix="ray-", dir="/tmp") as temp:
        # address="local": a cluster of its own, never one already running here.
        ray.init(
            address="local",
            include_dashboard=False,
            _node_ip_address="127.0.0.1",
            _temp_dir=temp,
            logging_level="warning",
        )
        serve.start(
            http_options={"host": "127.0.0.1", "port": port}, logging_config=LOGGING
        )
        serve.run(Peer.bind(), route_prefix="/", logging_config=LOGGING)
        # After ray.init, which installs handlers of its own that exit at once.
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        stopping.wait()
        serve.shutdown()
        ray.shutdown()


if __name__ == "__main__":
    main()
