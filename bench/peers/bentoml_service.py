"""The three functions as a BentoML service, with its best fair settings.

One worker process with 40 threads: with the default of one thread, sync APIs
run one at a time (20 requests/s on sleep). Access logs are off, as in every
server of the comparison. Run from this folder::

    bentoml serve bentoml_service:Peer --host 127.0.0.1 --port PORT
"""

from __future__ import annotations

import bentoml
import functions


@bentoml.service(workers=1, threads=40, logging={"access": {"enabled": False}})
class Peer:
    @bentoml.api
    def greeting(self, name: str) -> str:
        return functions.greeting(name)

    @bentoml.api
    def tensor(self, data: str) -> float:
        return functions.tensor_sum(data)

    @bentoml.api
    def sleep(self) -> str:
        return functions.sleep()
