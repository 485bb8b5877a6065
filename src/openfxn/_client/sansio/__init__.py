"""The I/O-free core both clients share: every operation written once, as a
plan of effects (:mod:`.effects`) that a driver performs."""

from __future__ import annotations

from dataclasses import dataclass

from openfxn._client.sansio.access_keys import AccessKeyPlans
from openfxn._client.sansio.core import Core
from openfxn._client.sansio.environment_variables import EnvironmentVariablePlans
from openfxn._client.sansio.predictions import PredictionPlans
from openfxn._client.sansio.predictors import PredictorPlans
from openfxn._client.sansio.storage import StoragePlans
from openfxn._client.sansio.usage import UsagePlans
from openfxn._client.sansio.users import UserPlans


@dataclass(frozen=True)
class Plans:
    """Every service's plans over one core."""

    users: UserPlans
    access_keys: AccessKeyPlans
    predictors: PredictorPlans
    predictions: PredictionPlans
    environment_variables: EnvironmentVariablePlans
    storage: StoragePlans
    usage: UsagePlans

    @classmethod
    def over(cls, core: Core) -> Plans:
        storage = StoragePlans(core)
        return cls(
            users=UserPlans(core),
            access_keys=AccessKeyPlans(core),
            predictors=PredictorPlans(core, storage),
            predictions=PredictionPlans(core, storage),
            environment_variables=EnvironmentVariablePlans(core),
            storage=storage,
            usage=UsagePlans(core),
        )
