"""Predictors: create (then provision in the background), read, list, search,
archive and delete, with visibility following the access mode.

A private predictor is invisible to everyone but its owner: not found, not
forbidden. Protected ones are reachable by tag but never listed; search finds
public, active predictors only.
"""

from __future__ import annotations

import mimetypes
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from openfxn.server.auth.callers import Caller
from openfxn.server.coalesce import Coalesced
from openfxn.server.errors import Conflict, InvalidRequest, NotFound, PermissionDenied
from openfxn.server.services.environment_variables import EnvironmentVariableService
from openfxn.server.services.models import (
    Acceleration,
    AccessMode,
    CreatePredictorInput,
    Predictor,
    PredictorsInput,
    PredictorStatus,
    PredictorType,
    Signature,
    UserPredictorsInput,
)
from openfxn.server.services.uploads import PREFIX, UploadService
from openfxn.server.services.users import to_user
from openfxn.server.storage.objects import Storage
from openfxn.server.store import tables
from openfxn.server.store.database import Database
from openfxn.server.store.tables import Account

DEFAULT_COUNT = 20


def to_predictor(row: tables.Predictor, viewer_id: int | None) -> Predictor:
    is_owner = row.owner_id == viewer_id
    return Predictor(
        tag=row.tag,
        owner=to_user(row.owner, is_self=is_owner),
        name=row.name,
        type=PredictorType(row.type),
        status=PredictorStatus(row.status),
        access=AccessMode(row.access),
        predictions=row.predictions,
        created=row.created,
        description=row.description,
        card=row.card,
        media=row.media,
        acceleration=Acceleration(row.acceleration),
        signature=Signature.model_validate(row.signature) if row.signature else None,
        error=row.error,
        license=row.license,
        log=row.log if is_owner else None,
    )


def visible_to(viewer_id: int | None) -> Any:
    """Rows the viewer may read by tag: their own, and non-private ones."""
    return or_(
        tables.Predictor.access != AccessMode.PRIVATE.value,
        tables.Predictor.owner_id == viewer_id,
    )


def with_owner(
    query: Select[Any],
) -> Select[Any]:
    return query.options(joinedload(tables.Predictor.owner))


Viewing = tuple[str, int | None]  # a tag, lower case, and who looks it up


class ActivePredictors:
    """ACTIVE predictors found for predictions in the last ``ttl`` seconds, by
    tag and viewer, so that a busy predictor is read about once a second.

    Every change this service makes to a predictor (replacing, deleting or
    archiving it) drops every entry, and a row read before such a change is not
    kept after it. Provisioning changes only predictors that are not ACTIVE, so
    none of these. That is immediate within the server process, which is how
    openfxn runs; the ttl bounds how stale a change made by another process can
    be.
    """

    def __init__(self, ttl: float = 1.0, capacity: int = 1_000) -> None:
        self.ttl = ttl
        self.capacity = capacity
        self.entries: OrderedDict[Viewing, tuple[float, tables.Predictor]] = (
            OrderedDict()
        )
        self.generation = 0  # counts clears, to refuse rows read before one

    def get(self, viewing: Viewing) -> tables.Predictor | None:
        entry = self.entries.get(viewing)
        if entry is None:
            return None
        stored, row = entry
        if time.monotonic() - stored > self.ttl:
            del self.entries[viewing]
            return None
        return row

    def put(self, viewing: Viewing, row: tables.Predictor, generation: int) -> None:
        """Keep ``row``, unless the entries were cleared since ``generation``."""
        if generation != self.generation:
            return
        self.entries[viewing] = (time.monotonic(), row)
        self.entries.move_to_end(viewing)
        while len(self.entries) > self.capacity:
            self.entries.popitem(last=False)

    def clear(self) -> None:
        self.entries.clear()
        self.generation += 1


class PredictorService:
    def __init__(
        self,
        database: Database,
        storage: Storage,
        uploads: UploadService,
        variables: EnvironmentVariableService,
        provision: Callable[[int], None],
    ) -> None:
        self.database = database
        self.storage = storage
        self.uploads = uploads
        self.variables = variables
        self.provision = provision
        self.active = ActivePredictors()
        self.reading: Coalesced[Viewing, tables.Predictor] = Coalesced()

    async def retrieve(self, caller: Caller, tag: str) -> Predictor:
        viewer = viewer_id(caller)
        return to_predictor(await self.find(tag, viewer), viewer)

    async def find(self, tag: str, viewer: int | None) -> tables.Predictor:
        async with self.database.read() as session:
            row: tables.Predictor | None = await session.scalar(
                with_owner(select(tables.Predictor)).where(
                    tables.Predictor.tag == tag.lower(), visible_to(viewer)
                )
            )
        if row is None:
            raise NotFound(f"There is no predictor {tag[:80]} that you can see.")
        return row

    async def find_for_prediction(
        self, tag: str, viewer: int | None
    ) -> tables.Predictor:
        """As ``find``, but an ACTIVE row may be up to a second old (see
        ``ActivePredictors``). Only predictions read it: not its count."""
        viewing = (tag.lower(), viewer)
        if (cached := self.active.get(viewing)) is not None:
            return cached
        read = partial(self.read_active, tag, viewer)
        return await self.reading.load(viewing, read)  # one read for every waiter

    async def read_active(self, tag: str, viewer: int | None) -> tables.Predictor:
        generation = self.active.generation
        row = await self.find(tag, viewer)
        if row.status == PredictorStatus.ACTIVE.value:
            self.active.put((tag.lower(), viewer), row, generation)
        return row

    async def list_by_owner(
        self, caller: Caller, owner: str | None, request: UserPredictorsInput
    ) -> list[Predictor]:
        """An owner's predictors (the caller's without an owner), ACTIVE by default."""
        viewer = viewer_id(caller)
        username = owner if owner is not None else caller.require_account().username
        status = request.status or PredictorStatus.ACTIVE
        query = (
            with_owner(select(tables.Predictor))
            .join(tables.Predictor.owner)
            .where(Account.username == username.lower())
            .where(tables.Predictor.status == status.value)
            .where(
                or_(
                    tables.Predictor.owner_id == viewer,
                    tables.Predictor.access == AccessMode.PUBLIC.value,
                )
            )
        )
        return await self.page(query, viewer, request.offset, request.count)

    async def search(self, caller: Caller, request: PredictorsInput) -> list[Predictor]:
        """Public, active predictors whose tag or description holds the query."""
        query = with_owner(select(tables.Predictor)).where(
            tables.Predictor.access == AccessMode.PUBLIC.value,
            tables.Predictor.status == PredictorStatus.ACTIVE.value,
        )
        if request.query:
            pattern = (
                "%" + request.query.lower().replace("%", "").replace("_", "") + "%"
            )
            query = query.where(
                or_(
                    tables.Predictor.tag.like(pattern),
                    func.lower(tables.Predictor.description).like(pattern),
                )
            )
        return await self.page(query, viewer_id(caller), request.offset, request.count)

    async def page(
        self,
        query: Select[Any],
        viewer: int | None,
        offset: int | None,
        count: int | None,
    ) -> list[Predictor]:
        query = query.order_by(
            tables.Predictor.created.desc(), tables.Predictor.id.desc()
        )
        query = query.offset(offset or 0).limit(count or DEFAULT_COUNT)
        async with self.database.read() as session:
            rows = (await session.scalars(query)).unique()
            return [to_predictor(row, viewer) for row in rows]

    async def create(
        self, caller: Caller, request: CreatePredictorInput, base_url: str
    ) -> Predictor:
        account = caller.require_account()
        owner, name = request.tag[1:].split("/")
        if owner != account.username:
            raise PermissionDenied(
                f"You can create predictors only under your own name: "
                f"@{account.username}/{name}."
            )
        if request.type == PredictorType.EDGE:
            raise InvalidRequest(
                "EDGE predictors are not supported by this server; create a CLOUD one."
            )
        source = await self.uploads.resolve(request.notebook, "notebook")
        if len(source.data) > self.uploads.settings.max_notebook_bytes:
            raise InvalidRequest("The notebook is larger than this server accepts.")
        media = await self.media_url(request.media, account, base_url)

        own = {variable.name: variable.value for variable in request.environment or []}
        try:
            async with self.changing(), self.database.write() as session:
                await self.replace_existing(session, request)
                row = tables.Predictor(
                    tag=request.tag,
                    owner_id=account.id,
                    name=name,
                    type=PredictorType.CLOUD.value,
                    status=PredictorStatus.PROVISIONING.value,
                    access=(request.access or AccessMode.PRIVATE).value,
                    acceleration=(request.acceleration or Acceleration.CPU).value,
                    description=request.description,
                    media=media,
                    license=request.license,
                    source_key="",
                    source_name=source.name,
                    requirements=[],
                    predictions=0,
                )
                session.add(row)
                await session.flush()
                row.source_key = f"predictors/{row.id}/source"
                await self.storage.put(row.source_key, source.data, source.content_type)
                await self.variables.copy_to_predictor(session, account.id, row.id, own)
        except IntegrityError:
            raise Conflict(
                f"The tag {request.tag} was just taken; try again."
            ) from None
        self.provision(row.id)
        row.owner = account
        return to_predictor(row, account.id)

    async def replace_existing(
        self, session: Any, request: CreatePredictorInput
    ) -> None:
        existing = await session.scalar(
            select(tables.Predictor).where(tables.Predictor.tag == request.tag)
        )
        if existing is None:
            return
        if not request.overwrite:
            raise Conflict(
                f"The tag {request.tag} is taken. Pass overwrite: true to replace that "
                "predictor, or choose another name."
            )
        await self.variables.drop_predictor(session, existing.id)
        await session.execute(
            delete(tables.Predictor).where(tables.Predictor.id == existing.id)
        )
        await session.flush()

    async def media_url(
        self, media: str | None, account: Account, base_url: str
    ) -> str | None:
        """Media as a URL anyone can load: data: URLs are stored as uploads."""
        if media is None or not media.startswith("data:"):
            return media.split("?", 1)[0] if media and PREFIX in media else media
        resolved = await self.uploads.resolve(media, "media")
        extension = mimetypes.guess_extension(resolved.content_type) or ""
        path = f"{PREFIX}{account.username}/media/{uuid.uuid4().hex}/media{extension}"
        await self.storage.put(path.lstrip("/"), resolved.data, resolved.content_type)
        return base_url.rstrip("/") + path

    async def delete(self, caller: Caller, tag: str) -> bool:
        account = caller.require_account()
        row = await self.owned(tag, account.id)
        if row.access == AccessMode.PUBLIC.value and row.predictions > 0:
            raise Conflict(
                f"{row.tag} is public and has served predictions, so it cannot be "
                "deleted: archive it instead."
            )
        async with self.changing(), self.database.write() as session:
            await self.variables.drop_predictor(session, row.id)
            await session.execute(
                delete(tables.Predictor).where(tables.Predictor.id == row.id)
            )
        await self.storage.delete(row.source_key)
        return True

    async def archive(self, caller: Caller, tag: str) -> Predictor:
        account = caller.require_account()
        row = await self.owned(tag, account.id)
        async with self.changing(), self.database.write() as session:
            stored = await session.get_one(tables.Predictor, row.id)
            stored.status = PredictorStatus.ARCHIVED.value
        row.status = PredictorStatus.ARCHIVED.value
        return to_predictor(row, account.id)

    @asynccontextmanager
    async def changing(self) -> AsyncIterator[None]:
        """Around a write that may replace, delete or archive a predictor: once
        it has ended, committed or not, no prediction finds the old row."""
        try:
            yield
        finally:
            self.active.clear()

    async def owned(self, tag: str, account_id: int) -> tables.Predictor:
        row = await self.find(tag, account_id)
        if row.owner_id != account_id:
            raise PermissionDenied(f"Only the owner of {row.tag} can change it.")
        return row


def viewer_id(caller: Caller) -> int | None:
    return None if caller.account is None else caller.account.id
