"""Provisioning: from an uploaded source to an ACTIVE or INVALID predictor.

It runs in the background, a few predictors at a time: read the source (a
notebook or a .py file), build or reuse the environment for its requirements,
then run the module once, in its own process and with only its own secrets,
through the shim that infers the signature. Predictors a stopped server left
PROVISIONING are provisioned again when it starts.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from openfxn.server.predictors import shim
from openfxn.server.predictors.sources import SourceError, read_source
from openfxn.server.runtime import launch
from openfxn.server.runtime.environments import Environments, RequirementsError
from openfxn.server.runtime.launch import describe_exit
from openfxn.server.runtime.sandboxes import Sandbox
from openfxn.server.secrets import KeyRing
from openfxn.server.services.environment_variables import (
    EnvironmentVariableService,
    predictor_scope,
)
from openfxn.server.services.models import PredictorStatus
from openfxn.server.settings import Settings
from openfxn.server.storage.objects import Storage
from openfxn.server.store.database import Database
from openfxn.server.store.tables import Predictor

logger = logging.getLogger("openfxn.server")

LOG_LIMIT = 16 * 1024
MODULE = "predictor.py"
MIN_REDACTED = 4  # shorter values would blank ordinary words; too short to matter


@dataclass
class Outcome:
    status: PredictorStatus
    error: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)


class Provisioner:
    def __init__(
        self,
        database: Database,
        storage: Storage,
        ring: KeyRing,
        settings: Settings,
        sandbox: Sandbox,
    ) -> None:
        self.database = database
        self.sandbox = sandbox
        self.storage = storage
        self.variables = EnvironmentVariableService(database, ring)
        self.settings = settings
        self.environments = Environments(
            settings.data / "environments", settings.provisioning_timeout_s
        )
        self.slots = asyncio.Semaphore(settings.provisioning_concurrency)
        self.tasks: set[asyncio.Task[None]] = set()

    def schedule(self, predictor_id: int) -> None:
        task = asyncio.get_running_loop().create_task(self.provision(predictor_id))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def resume(self) -> None:
        """Provision again what a stopped server left half done."""
        async with self.database.read() as session:
            ids = await session.scalars(
                select(Predictor.id).where(
                    Predictor.status == PredictorStatus.PROVISIONING.value
                )
            )
            pending = list(ids)
        for predictor_id in pending:
            self.schedule(predictor_id)
        if pending:
            logger.info("resuming provisioning of %d predictors", len(pending))

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def wait(self) -> None:
        """Until every scheduled provisioning has ended (for tests and tools)."""
        while self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)

    async def provision(self, predictor_id: int) -> None:
        async with self.slots:
            try:
                outcome = await self.run(predictor_id)
            except Exception:
                logger.exception("provisioning predictor %d failed", predictor_id)
                outcome = Outcome(
                    PredictorStatus.INVALID,
                    "The server failed while provisioning this predictor; the failure "
                    "is logged. Create it again, with overwrite.",
                )
            if outcome is not None:
                await self.record(predictor_id, outcome)

    async def run(self, predictor_id: int) -> Outcome | None:
        async with self.database.read() as session:
            row = await session.get(Predictor, predictor_id)
            if row is None:
                return None  # replaced or deleted meanwhile
            secrets = await self.variables.values(
                session, row.owner_id, predictor_scope(predictor_id)
            )
        stored = await self.storage.get(row.source_key)
        if stored is None:
            return Outcome(
                PredictorStatus.INVALID, "The predictor's source is missing."
            )
        try:
            source = read_source(stored.data, row.source_name)
        except SourceError as error:
            return Outcome(PredictorStatus.INVALID, error.message)

        outcome = Outcome(PredictorStatus.PROVISIONING, log=list(source.warnings))
        outcome.values = {
            "card": source.card,
            "requirements": list(source.requirements),
        }
        try:
            python = await self.environments.ensure(source.requirements)
        except RequirementsError as error:
            outcome.status, outcome.error = PredictorStatus.INVALID, str(error)
            return outcome
        await self.load_module(predictor_id, python, source.code, secrets, outcome)
        if outcome.error is not None:
            outcome.error = source.locate(outcome.error, MODULE)
        return outcome

    async def load_module(
        self,
        predictor_id: int,
        python: Path,
        code: str,
        secrets: dict[str, str],
        outcome: Outcome,
    ) -> None:
        """Run the module once through the shim, and read what it found."""
        directory = self.settings.data / "predictors" / str(predictor_id)
        workdir = directory / "work"
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        (directory / MODULE).write_text(code, encoding="utf-8")
        shim_file = Path(shim.__file__)
        if (refusal := self.sandbox.refusal()) is not None:
            outcome.status, outcome.error = PredictorStatus.INVALID, refusal
            return
        completed = await launch.run(
            python,
            ["-I", str(shim_file), "provision", str(directory / MODULE)],
            sandbox=self.sandbox,
            readable=[shim_file.parent, directory / MODULE],
            variables=secrets,
            workdir=workdir,
            time_limit=self.settings.provisioning_timeout_s,
        )
        # The log and the error are stored and shown to the owner: blank out any
        # secret the code printed or put in an exception, before cutting to size.
        if completed.stderr.strip():
            outcome.log.append(redact(completed.stderr.strip(), secrets)[-LOG_LIMIT:])
        result = last_json_line(completed.stdout)
        if completed.timed_out:
            outcome.status = PredictorStatus.INVALID
            outcome.error = (
                "Loading the predictor took longer than "
                f"{self.settings.provisioning_timeout_s} s; make its module-level code "
                "faster."
            )
        elif result is None:
            outcome.status = PredictorStatus.INVALID
            ended = describe_exit(completed.returncode)
            outcome.error = (
                f"The predictor's process {ended} before reporting its signature. "
                "See the provisioning log."
            )
        elif not result.get("ok"):
            outcome.status = PredictorStatus.INVALID
            outcome.error = redact(str(result.get("error")), secrets)
        else:
            outcome.status = PredictorStatus.ACTIVE
            outcome.log.extend(result.get("warnings", []))
            outcome.values["signature"] = result["signature"]
            outcome.values["is_generator"] = bool(result.get("isGenerator"))

    async def record(self, predictor_id: int, outcome: Outcome) -> None:
        values = {
            **outcome.values,
            "status": outcome.status.value,
            "error": outcome.error,
            "log": "\n".join(outcome.log)[-LOG_LIMIT:] or None,
        }
        async with self.database.write() as session:
            await session.execute(
                update(Predictor)
                .where(
                    Predictor.id == predictor_id,
                    Predictor.status == PredictorStatus.PROVISIONING.value,
                )
                .values(**values)
            )
        logger.info("predictor %d provisioned: %s", predictor_id, outcome.status.value)


def redact(text: str, secrets: dict[str, str]) -> str:
    # Longest first, so that a secret containing another is blanked whole.
    for name, value in sorted(secrets.items(), key=lambda item: -len(item[1])):
        if len(value) >= MIN_REDACTED:
            text = text.replace(value, f"[secret {name}]")
    return text


def last_json_line(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.strip().splitlines()):
        try:
            result = json.loads(line)
        except ValueError:
            continue
        if isinstance(result, dict):
            return result
    return None
