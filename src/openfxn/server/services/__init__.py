"""The service layer: every operation once, with typed inputs and outputs.

Nothing here knows about HTTP. Transports resolve the caller, validate input
into the models of :mod:`.models`, call a service, and serialize what it
returns; a service signals failure with an error from :mod:`openfxn.server.errors`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from openfxn.server.auth.authorizations import Authorizer
from openfxn.server.auth.cache import KeyCache
from openfxn.server.runtime.environments import Environments
from openfxn.server.runtime.sandboxes import Sandbox
from openfxn.server.runtime.workers import Limits, Workers
from openfxn.server.secrets import KeyRing
from openfxn.server.services.access_keys import AccessKeyService
from openfxn.server.services.environment_variables import EnvironmentVariableService
from openfxn.server.services.predictions import PredictionService
from openfxn.server.services.predictors import PredictorService
from openfxn.server.services.uploads import UploadService
from openfxn.server.services.usage import UsageService
from openfxn.server.services.users import UserService
from openfxn.server.settings import Settings
from openfxn.server.storage.objects import LocalStorage, Storage
from openfxn.server.store.database import Database


def provision_nothing(predictor_id: int) -> None:
    """For tools that run without the server's background provisioning."""


@dataclass(frozen=True)
class Services:
    """The services of one server, sharing one database and one storage."""

    users: UserService
    access_keys: AccessKeyService
    uploads: UploadService
    environment_variables: EnvironmentVariableService
    predictors: PredictorService
    predictions: PredictionService
    usage: UsageService

    @classmethod
    def create(
        cls,
        settings: Settings,
        database: Database,
        keys: KeyCache,
        ring: KeyRing,
        provision: Callable[[int], None] = provision_nothing,
        storage: Storage | None = None,
        runtime: Workers | None = None,
    ) -> Services:
        storage = storage or LocalStorage(settings.data / "objects")
        uploads = UploadService(storage, settings, ring.derive("upload urls"))
        variables = EnvironmentVariableService(database, ring)
        predictors = PredictorService(database, storage, uploads, variables, provision)
        environments = Environments(
            settings.data / "environments", settings.provisioning_timeout_s
        )
        runtime = runtime or Workers(
            Sandbox(), settings.data / "workers", limits(settings)
        )
        authorizer = Authorizer(database, ring, settings)
        return cls(
            users=UserService(
                database,
                keys,
                ring,
                settings.allow_http_authorization,
                authorizer.forget,
            ),
            access_keys=AccessKeyService(database, keys),
            uploads=uploads,
            environment_variables=variables,
            predictors=predictors,
            predictions=PredictionService(
                database,
                predictors,
                uploads,
                variables,
                runtime,
                environments,
                settings,
                authorizer,
            ),
            usage=UsageService(database),
        )


def limits(settings: Settings) -> Limits:
    return Limits(
        prediction_timeout_s=settings.prediction_timeout_s,
        load_timeout_s=settings.provisioning_timeout_s,
        workers_per_predictor=settings.workers_per_predictor,
        max_predictions=settings.worker_max_predictions,
        idle_s=settings.worker_idle_s,
        concurrency=settings.worker_concurrency,
        output_bytes=settings.prediction_output_bytes,
    )
