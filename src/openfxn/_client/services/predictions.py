"""The ``predictions`` service: run a predictor, at once or streamed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

from openfxn._client.drivers import AsyncDriver, SyncDriver
from openfxn._client.models import Prediction
from openfxn._client.sansio.predictions import Framing, PredictionPlans


class Predictions:
    """Predictions: runs of a predictor on inputs."""

    def __init__(self, driver: SyncDriver, plans: PredictionPlans) -> None:
        self._driver = driver
        self._plans = plans

    def create(
        self,
        tag: str,
        inputs: Mapping[str, Any] | None = None,
        *,
        data_url_limit: int | None = None,
        raise_on_error: bool = False,
    ) -> Prediction:
        """Run a predictor once and return the prediction.

        Args:
            tag: The predictor, ``@owner/name``.
            inputs: Its inputs by name, as Python objects: see the value table
                in ``docs/client.md`` for what each becomes. Values of 4096
                bytes or more are uploaded first.
            data_url_limit: Results smaller than this many bytes come inline;
                larger ones are fetched from the server. The server's default
                (4096) when None.
            raise_on_error: Raise PredictionError when ``predict`` raised,
                instead of returning the prediction with ``error`` set.

        Returns:
            The prediction, with ``results`` as Python objects, or ``error``
            set (and ``results`` None) when ``predict`` raised.

        Raises:
            ConversionError: An input has no wire form.
            InvalidRequestError: An input does not fit the predictor, or it is
                not ACTIVE.
            SpendLimitError: The account billed has reached its spend limit.
            PredictionError: ``predict`` raised, with ``raise_on_error=True``.
        """
        plan = self._plans.create(tag, inputs, data_url_limit, raise_on_error)
        return self._driver.run(plan)

    def stream(
        self,
        tag: str,
        inputs: Mapping[str, Any] | None = None,
        *,
        data_url_limit: int | None = None,
        raise_on_error: bool = False,
        framing: Framing = "ndjson",
    ) -> Iterator[Prediction]:
        """Run a predictor and yield its predictions as they come.

        A predictor that is a generator yields a partial prediction (status
        RUNNING, the same ``id``) for each value it yields, then the final one.
        Any other predictor yields the final prediction alone. Leaving the loop
        early disconnects, which stops the prediction.

        Args:
            framing: How the server frames the stream: ``"ndjson"`` (one JSON
                object per line) or ``"sse"`` (server-sent events).

        The other arguments are those of :meth:`create`.
        """
        plan = self._plans.stream(tag, inputs, data_url_limit, raise_on_error, framing)
        return self._driver.iterate(plan)

    def retrieve(self, id: str) -> Prediction:
        """A prediction the caller made, by its ``id``.

        Raises:
            NotFoundError: The caller made no prediction with that id.
        """
        return self._driver.run(self._plans.retrieve(id))


class AsyncPredictions:
    """Predictions (async; see :class:`Predictions`)."""

    def __init__(self, driver: AsyncDriver, plans: PredictionPlans) -> None:
        self._driver = driver
        self._plans = plans

    async def create(
        self,
        tag: str,
        inputs: Mapping[str, Any] | None = None,
        *,
        data_url_limit: int | None = None,
        raise_on_error: bool = False,
    ) -> Prediction:
        """Run a predictor once; see :meth:`Predictions.create`."""
        plan = self._plans.create(tag, inputs, data_url_limit, raise_on_error)
        return await self._driver.run(plan)

    def stream(
        self,
        tag: str,
        inputs: Mapping[str, Any] | None = None,
        *,
        data_url_limit: int | None = None,
        raise_on_error: bool = False,
        framing: Framing = "ndjson",
    ) -> AsyncIterator[Prediction]:
        """Run a predictor and yield its predictions as they come (``async
        for``); see :meth:`Predictions.stream`."""
        plan = self._plans.stream(tag, inputs, data_url_limit, raise_on_error, framing)
        return self._driver.iterate(plan)

    async def retrieve(self, id: str) -> Prediction:
        """A prediction the caller made, by its ``id``."""
        return await self._driver.run(self._plans.retrieve(id))
