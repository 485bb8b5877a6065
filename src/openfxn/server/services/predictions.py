"""Predictions: run a predictor once on a warm worker, store it, bill it once.

A prediction's predictor is called at once. If it is still running 5 ms
later, or streams a partial result sooner, the prediction is stored RUNNING
then, and ending it later is one transaction that only a RUNNING prediction
can pass; one that ends sooner is stored once, ended. Either way its usage is
written in the transaction that ends it, the usage table allows one row per
prediction, and nothing is answered before that transaction commits: a
prediction is billed once or not at all. One that a stopped server left
RUNNING is ended INTERRUPTED when the server starts again, and is never
billed; one stopped in its first 5 ms left no row, and its caller no reply.

A prediction that fails inside ``predict`` is not an error of this service: it
comes back with ``error`` set and ``results`` null, and is billed for the time
it ran. Cold starts are reported (``coldStart``) but never billed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update

from openfxn.server.auth.authorizations import Authorizer
from openfxn.server.auth.callers import Caller
from openfxn.server.errors import InvalidRequest, NotFound, SpendLimitReached
from openfxn.server.predictors.values import Raw
from openfxn.server.runtime import workers
from openfxn.server.runtime.environments import Environments
from openfxn.server.services import values
from openfxn.server.services.environment_variables import (
    EnvironmentVariableService,
    predictor_scope,
)
from openfxn.server.services.models import (
    Prediction,
    PredictionStatus,
    PredictorStatus,
    PredictorType,
    ResultValue,
)
from openfxn.server.services.predictors import PredictorService
from openfxn.server.services.uploads import UploadService
from openfxn.server.settings import Settings
from openfxn.server.store import tables
from openfxn.server.store.database import Database
from openfxn.server.store.ledger import Ledger, Writer
from openfxn.server.store.tables import utcnow

logger = logging.getLogger("openfxn.server")

MODULE = "predictor.py"
INTERRUPTED = (
    "The server stopped while this prediction ran, so it has no results. It was "
    "not billed; make it again."
)

CANCELLED = "The client disconnected, so the prediction was stopped."
SERVER_FAILED = (
    "The server failed while running this prediction; the failure is logged. It "
    "was not billed."
)

OnPrediction = Callable[[Prediction], Awaitable[None]]

# A prediction that ends within this long is stored once, ended; one that runs
# longer is stored RUNNING at this point, so that a crash finds and ends it.
STORE_RUNNING_AFTER_S = 0.005


def to_prediction(row: tables.Prediction | SimpleNamespace) -> Prediction:
    return Prediction(
        id=row.id,
        tag=row.tag,
        type=PredictorType.CLOUD,
        created=row.created,
        results=row.results,
        latency=row.latency,
        error=row.error,
        logs=row.logs,
        status=PredictionStatus(row.status),
        cold_start=row.cold_start,
    )


class PredictionService:
    def __init__(
        self,
        database: Database,
        predictors: PredictorService,
        uploads: UploadService,
        variables: EnvironmentVariableService,
        runtime: workers.Workers,
        environments: Environments,
        settings: Settings,
        authorizer: Authorizer,
    ) -> None:
        self.database = database
        self.predictors = predictors
        self.uploads = uploads
        self.variables = variables
        self.runtime = runtime
        self.environments = environments
        self.data = settings.data
        self.settings = settings
        self.authorizer = authorizer
        self.specs: dict[int, workers.Predictor] = {}  # by predictor id

    async def create(
        self,
        caller: Caller,
        tag: str,
        inputs: dict[str, Any],
        data_url_limit: int | None,
        base_url: str,
        on_partial: OnPrediction | None = None,
    ) -> Prediction:
        """Run ``tag`` on ``inputs`` (wire values by name) and return the
        prediction; ``on_partial`` gets each partial one a generator yields."""
        payer = await self.payer(caller, tag)
        account = payer.account
        row = await self.predictors.find_for_prediction(tag, account.id)
        if row.status != PredictorStatus.ACTIVE.value:
            raise InvalidRequest(not_active(row))
        await self.check_spend(account)
        raws = await self.read_inputs(inputs)

        record = SimpleNamespace(  # the predictions table's columns
            id=new_id(),
            predictor_id=row.id,
            tag=row.tag,
            caller_id=account.id,
            billed_account_id=account.id,
            status=PredictionStatus.RUNNING.value,
            created=utcnow(),
            finished=None,
            inputs=summary(raws),
            results=None,
            latency=None,
            cold_start=None,
            error=None,
            logs=None,
            caller_kind=payer.kind,
            customer=payer.customer,
        )
        entry = Entry(self.database.ledger, record)

        async def yielded(results: list[Raw]) -> None:
            if on_partial is not None:
                await asyncio.shield(entry.store())  # what a caller sees is stored
                shown = await self.to_wire(results, data_url_limit, account, base_url)
                await on_partial(running(record, shown))

        started = time.perf_counter()
        try:
            spec = self.worker_spec(row)
            pool = self.runtime.pool(spec)
            outcome = await pool.predict(record.id, raws, yielded)
            results = None
            if outcome.results is not None:
                results = await self.to_wire(
                    outcome.results, data_url_limit, account, base_url
                )
        except asyncio.CancelledError:  # the client went away: end it, then stop
            elapsed = (time.perf_counter() - started) * 1000
            cancelled = workers.Outcome(None, CANCELLED, elapsed)
            await asyncio.shield(self.finish(entry, row, cancelled, None))
            raise
        except Exception:  # the server's fault, not the predictor's: not billed
            logger.exception("prediction %s failed in the server", record.id)
            failed = workers.Outcome(None, SERVER_FAILED, 0.0)
            await self.finish(entry, row, failed, None, bill=False)
            raise
        return await self.finish(entry, row, outcome, results)

    async def payer(self, caller: Caller, tag: str) -> Payer:
        """Who a prediction of ``tag`` runs for and bills: the caller with a
        valid key, or else the predictor's owner, when the owner's
        authorization URL approves the caller's credential."""
        if caller.account is not None:
            return Payer(caller.account, "key", None)
        owner = await self.owner_with_url(tag)
        if owner is None:
            caller.require_account()  # raises, saying what is missing
        assert owner is not None
        approval = await self.authorizer.authorize(owner, tag, caller.credential)
        return Payer(owner, "authorization", approval.customer)

    async def owner_with_url(self, tag: str) -> tables.Account | None:
        username = tag.partition("/")[0].removeprefix("@").lower()
        async with self.database.read() as session:
            owner = await session.scalar(
                select(tables.Account).where(tables.Account.username == username)
            )
        if owner is None or owner.authorization_url is None:
            return None
        return owner

    async def check_spend(self, account: tables.Account) -> None:
        """Refuse once the month's spend has reached the account's limit."""
        if account.spend_limit is None:
            return
        spent = await self.month_spend(account.id)
        if spent >= account.spend_limit:
            raise SpendLimitReached(
                f"This month's spend of {account.username} ({spent:.4f}) has reached "
                f"its limit ({account.spend_limit:.4f}), so no more predictions run "
                "on it this month. Raise spendLimit with updateUser (PATCH /user), "
                "or remove it."
            )

    async def month_spend(self, account_id: int) -> float:
        start = month_start(utcnow())
        async with self.database.read() as session:
            spent = await session.scalar(
                select(func.coalesce(func.sum(tables.Usage.cost), 0.0)).where(
                    tables.Usage.account_id == account_id,
                    tables.Usage.created >= start,
                )
            )
        return float(spent or 0.0)

    async def read_inputs(self, inputs: dict[str, Any]) -> dict[str, Raw]:
        async def fetch(url: str) -> tuple[bytes, str | None]:
            resolved = await self.uploads.resolve(url, "input")
            return resolved.data, resolved.content_type

        return {
            name: await values.to_raw(values.read_input(name, wire), fetch)
            for name, wire in inputs.items()
        }

    async def to_wire(
        self,
        results: list[Raw],
        data_url_limit: int | None,
        account: tables.Account,
        base_url: str,
    ) -> list[dict[str, Any]]:
        async def store(data: bytes, mime: str, name: str) -> str:
            return await self.uploads.store_value(account, name, data, mime, base_url)

        return [
            await values.to_wire(raw, data_url_limit, store, f"result{index}")
            for index, raw in enumerate(results)
        ]

    def worker_spec(self, row: tables.Predictor) -> workers.Predictor:
        """The predictor as its worker needs it: its module, and the environment
        and secrets that only starting a worker reads. Made once per version."""
        version = row.created.isoformat()
        spec = self.specs.get(row.id)
        if spec is None or spec.version != version:
            spec = self.specs[row.id] = workers.Predictor(
                id=row.id,
                version=version,
                module=self.data / "predictors" / str(row.id) / MODULE,
                environment=partial(self.worker_environment, row),
            )
        return spec

    async def worker_environment(self, row: tables.Predictor) -> workers.Environment:
        python = await self.environments.ensure(tuple(row.requirements))
        async with self.database.read() as session:
            secrets = await self.variables.values(
                session, row.owner_id, predictor_scope(row.id)
            )
        return workers.Environment(python, secrets)

    async def finish(
        self,
        entry: Entry,
        predictor: tables.Predictor,
        outcome: workers.Outcome,
        results: list[dict[str, Any]] | None,
        bill: bool = True,
    ) -> Prediction:
        """End the prediction and bill it (unless ``bill`` is false), in one
        transaction, once."""
        status = (
            PredictionStatus.FAILED if outcome.error else PredictionStatus.SUCCEEDED
        )
        record = entry.record
        ended = {
            "status": status.value,
            "finished": utcnow(),
            "results": None if outcome.error else results,
            "latency": outcome.latency_ms,
            "cold_start": outcome.cold_start_ms,
            "error": outcome.error,
            "logs": outcome.logs,
        }
        usage = None
        if bill:
            price = self.settings.price_per_s(predictor.acceleration)
            usage = {
                "prediction_id": record.id,
                "account_id": record.billed_account_id,
                "acceleration": predictor.acceleration,
                "latency": outcome.latency_ms,
                "cost": outcome.latency_ms / 1000 * price,
                "predictor_tag": record.tag,
                "caller_kind": record.caller_kind,
                "customer": record.customer,
                "created": ended["finished"],
            }
        if not await entry.end(predictor.id, ended, usage):
            return await self.retrieve_row(record.id)  # ended elsewhere first
        vars(record).update(ended)  # the row as stored, without reading it
        return to_prediction(record)

    async def retrieve(self, caller: Caller, id: str) -> Prediction:
        """A prediction, for the caller who made it."""
        account = caller.require_account()
        async with self.database.read() as session:
            row = await session.get(tables.Prediction, id)
        if row is None or row.caller_id != account.id:
            raise NotFound(f"You made no prediction with the id '{id[:40]}'.")
        return to_prediction(row)

    async def retrieve_row(self, id: str) -> Prediction:
        async with self.database.read() as session:
            row = await session.get(tables.Prediction, id)
        assert row is not None
        return to_prediction(row)

    async def interrupt_unfinished(self) -> int:
        """End what a stopped server left RUNNING; none of it is billed."""
        async with self.database.write() as session:
            ended = await session.execute(
                update(tables.Prediction)
                .where(tables.Prediction.status == PredictionStatus.RUNNING.value)
                .values(
                    status=PredictionStatus.INTERRUPTED.value,
                    finished=utcnow(),
                    error=INTERRUPTED,
                )
            )
        return int(ended.rowcount)  # type: ignore[attr-defined]


# The hot path's writes, built once: a statement made per call costs far more
# to construct and key for the compiled cache than it costs SQLite to run.
PREDICTIONS = cast(Table, tables.Prediction.__table__)
PREDICTORS = cast(Table, tables.Predictor.__table__)
# A prediction keeps its predictor's id only if the predictor still exists: one
# deleted in the milliseconds before the prediction is stored leaves it without
# one, as deleting it later does (ON DELETE SET NULL), instead of failing.
STORE = insert(PREDICTIONS).values(
    predictor_id=select(PREDICTORS.c.id)
    .where(PREDICTORS.c.id == bindparam("live_predictor_id"))
    .scalar_subquery()
)
END = update(PREDICTIONS).where(
    PREDICTIONS.c.id == bindparam("ended_id"),
    PREDICTIONS.c.status == PredictionStatus.RUNNING.value,
)  # its SET clause: the columns a call names
BILL = insert(cast(Table, tables.Usage.__table__))
COUNT = (
    update(PREDICTORS)
    .where(PREDICTORS.c.id == bindparam("counted_id"))
    .values(predictions=PREDICTORS.c.predictions + 1)
)


def store_running(record: dict[str, Any], writer: Writer) -> None:
    writer.run(STORE, store_values(record))


def store_ended(
    record: dict[str, Any],
    predictor_id: int,
    usage: dict[str, Any] | None,
    writer: Writer,
) -> bool:
    """Store a prediction that ended before it was stored, and bill it (unless
    ``usage`` is None), in the caller's transaction."""
    writer.run(STORE, store_values(record))
    if usage is not None:
        bill(predictor_id, usage, writer)
    return True


def store_values(record: dict[str, Any]) -> dict[str, Any]:
    """STORE's values for a record: its predictor's id goes to the subquery."""
    values = {**record, "live_predictor_id": record["predictor_id"]}
    del values["predictor_id"]
    return values


def end_and_bill(
    prediction_id: str,
    predictor_id: int,
    ended: dict[str, Any],
    usage: dict[str, Any] | None,
    writer: Writer,
) -> bool:
    """End a RUNNING prediction and bill it (unless ``usage`` is None), in the
    caller's transaction; False when it had already ended."""
    if writer.run(END, {"ended_id": prediction_id, **ended}) != 1:
        return False
    if usage is not None:
        bill(predictor_id, usage, writer)
    return True


def bill(predictor_id: int, usage: dict[str, Any], writer: Writer) -> None:
    writer.run(BILL, usage)
    writer.run(COUNT, {"counted_id": predictor_id})


RANDOM_BYTES = 10  # of a prediction id's 16


class PredictionIds:
    """Prediction ids: 32 hex digits, the first 12 the milliseconds since the
    epoch and the other 20 random. Ids in time order add to the end of the
    table's key, where random ones dirty a random page of its index on every
    write (a quarter more of the ledger's CPU on SQLite). The random part is
    read from the OS 4,000 bytes at a time."""

    def __init__(self) -> None:
        self.pool = b""
        self.at = 0

    def __call__(self) -> str:
        at = self.at
        if at + RANDOM_BYTES > len(self.pool):
            self.pool, at = os.urandom(RANDOM_BYTES * 400), 0
        self.at = at + RANDOM_BYTES
        random = self.pool[at : at + RANDOM_BYTES].hex()
        return f"{time.time_ns() // 1_000_000:012x}{random}"


new_id = PredictionIds()


class Entry:
    """A prediction on its way into the ledger. One that ends within
    ``STORE_RUNNING_AFTER_S`` is written once, ended; one still running then
    is written RUNNING at that moment, and ended by a second write."""

    def __init__(self, ledger: Ledger, record: SimpleNamespace) -> None:
        self.ledger = ledger
        self.record = record
        self.stored: asyncio.Future[None] | None = None
        loop = asyncio.get_running_loop()
        self.timer = loop.call_later(STORE_RUNNING_AFTER_S, self.store)

    def store(self) -> asyncio.Future[None]:
        """Write it RUNNING now, unless that is done; the future of that write."""
        if self.stored is None:
            self.timer.cancel()
            running = dict(vars(self.record))
            self.stored = self.ledger.submit(partial(store_running, running))
        return self.stored

    async def end(
        self, predictor_id: int, ended: dict[str, Any], usage: dict[str, Any] | None
    ) -> bool:
        """Write the end (and the usage); False when it had ended elsewhere."""
        if self.stored is None:
            self.timer.cancel()
            whole = {**vars(self.record), **ended}
            return await self.ledger.write(
                partial(store_ended, whole, predictor_id, usage)
            )
        await self.stored  # what failed to store raises here
        return await self.ledger.write(
            partial(end_and_bill, self.record.id, predictor_id, ended, usage)
        )


@dataclass(frozen=True)
class Payer:
    """The account a prediction runs for and bills, and how it got there."""

    account: tables.Account
    kind: str  # "key" or "authorization"
    customer: str | None


def month_start(moment: datetime) -> datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def running(row: SimpleNamespace, results: list[dict[str, Any]]) -> Prediction:
    partial = to_prediction(row)
    partial.results = [ResultValue.model_validate(result) for result in results]
    return partial


def not_active(row: tables.Predictor) -> str:
    if row.status == PredictorStatus.PROVISIONING.value:
        return f"{row.tag} is still provisioning; try again when it is ACTIVE."
    if row.status == PredictorStatus.INVALID.value:
        return f"{row.tag} is INVALID and cannot make predictions: {row.error}"
    return f"{row.tag} is {row.status} and makes no predictions."


def summary(raws: dict[str, Raw]) -> dict[str, Any]:
    """What is kept of the inputs: their types, shapes and sizes, not their data."""
    return {
        name: {
            "type": raw.type,
            "shape": raw.shape,
            "bytes": len(raw.data or b""),
        }
        for name, raw in raws.items()
    }
