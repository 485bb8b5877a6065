"""Plans for predictions: inputs encoded (and uploaded), results decoded."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Literal

from openfxn._client.errors import PredictionError, ServerError
from openfxn._client.models import Prediction, UploadType, Value
from openfxn._client.sansio import framing, mimes, values
from openfxn._client.sansio.core import Core, failure_error, parse, segment
from openfxn._client.sansio.effects import Emit, Failure, Plan, ReadChunk
from openfxn._client.sansio.storage import StoragePlans

Framing = Literal["ndjson", "sse"]
ACCEPT = {"ndjson": framing.NDJSON, "sse": framing.SSE}


class PredictionPlans:
    def __init__(self, core: Core, storage: StoragePlans) -> None:
        self.core = core
        self.storage = storage

    def create(
        self,
        tag: str,
        inputs: Mapping[str, Any] | None,
        data_url_limit: int | None,
        raise_on_error: bool,
    ) -> Plan[Prediction]:
        body = yield from self.encode(inputs)
        params = {"dataUrlLimit": data_url_limit}
        path = f"/predict/{segment(tag)}"
        reply = yield from self.core.call("POST", path, params=params, body=body)
        prediction = yield from self.decode(reply)
        return checked(prediction, raise_on_error)

    def stream(
        self,
        tag: str,
        inputs: Mapping[str, Any] | None,
        data_url_limit: int | None,
        raise_on_error: bool,
        framed: Framing,
    ) -> Plan[None]:
        """Emit each partial prediction as it arrives, then the final one."""
        if framed not in ACCEPT:
            raise ValueError(f"framing must be 'ndjson' or 'sse', not {framed!r}")
        body = yield from self.encode(inputs)
        params = {"stream": True, "dataUrlLimit": data_url_limit}
        path = f"/predict/{segment(tag)}"
        request = self.core.request(
            "POST", path, params=params, body=body, accept=ACCEPT[framed]
        )
        response = yield from self.core.send(request, stream=True)
        parser = framing.parser_for(response.headers.get("content-type"))
        while True:
            chunk = yield ReadChunk()
            if isinstance(chunk, Failure):
                raise failure_error(request, chunk)
            for item in parser.feed(chunk) if chunk else parser.close():
                prediction = yield from self.decode(streamed(item, response.status))
                yield Emit(checked(prediction, raise_on_error))
            if not chunk:
                return

    def retrieve(self, id: str) -> Plan[Prediction]:
        reply = yield from self.core.call("GET", f"/predictions/{segment(id)}")
        prediction = yield from self.decode(reply)
        return prediction

    def encode(self, inputs: Mapping[str, Any] | None) -> Plan[dict[str, Any]]:
        """The request body: each input as a wire Value, large ones uploaded."""
        key = uuid.uuid4().hex  # groups this prediction's uploads on the server
        body = {}
        for name, value in (inputs or {}).items():
            encoded = values.encode(value, name)
            if isinstance(encoded, Value):
                body[name] = encoded.model_dump(mode="json")
            elif encoded.data is None:
                body[name] = encoded.wire(None)
            elif len(encoded.data) < self.core.upload_threshold:
                body[name] = encoded.wire(values.data_url(encoded.data, encoded.mime))
            else:
                file_name = name + mimes.suffix_for(encoded.mime)
                url = yield from self.storage.upload(
                    encoded.data, file_name, UploadType.VALUE, encoded.mime, key
                )
                body[name] = encoded.wire(url)
        return body

    def decode(self, reply: Any) -> Plan[Prediction]:
        """The prediction of ``reply``, with its results as Python objects."""
        wire = reply if isinstance(reply, dict) else {}
        prediction = parse(
            Prediction, {**wire, "results": None, "values": wire.get("results")}
        )
        if prediction.values is None:
            return prediction
        results = []
        for value in prediction.values:
            data = yield from self.value_bytes(value)
            results.append(values.decode(value, data))
        return prediction.model_copy(update={"results": results})

    def value_bytes(self, value: Value) -> Plan[bytes | None]:
        if value.data is None:
            return None
        if values.is_data_url(value.data):
            return values.read_data_url(value.data)[0]
        data = yield from self.storage.download(value.data)
        return data


def streamed(item: Any, status: int) -> Any:
    """A streamed object, or the ServerError when it reports a failure."""
    if (
        isinstance(item, dict)
        and "id" not in item
        and isinstance(item.get("error"), str)
    ):
        raise ServerError(item["error"], status)
    return item


def checked(prediction: Prediction, raise_on_error: bool) -> Prediction:
    if raise_on_error and prediction.error is not None:
        raise PredictionError(prediction)
    return prediction
