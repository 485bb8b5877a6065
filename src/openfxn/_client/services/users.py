"""The ``users`` service: the caller's profile, and other users' public ones."""

from __future__ import annotations

import enum
from typing import Any

from openfxn._client.drivers import AsyncDriver, SyncDriver
from openfxn._client.models import User
from openfxn._client.sansio.users import UserPlans


class Unset(enum.Enum):
    """The default of a field left unchanged (None clears the field)."""

    UNSET = "UNSET"


UNSET = Unset.UNSET
Change = str | Unset | None


def changes(**fields: Any) -> dict[str, Any]:
    wire = {
        "name": "name",
        "bio": "bio",
        "avatar": "avatar",
        "website": "website",
        "github": "github",
        "spend_limit": "spendLimit",
        "authorization_url": "authorizationUrl",
    }
    return {wire[name]: value for name, value in fields.items() if value is not UNSET}


class Users:
    """Read and change accounts."""

    def __init__(self, driver: SyncDriver, plans: UserPlans) -> None:
        self._run = driver.run
        self._plans = plans

    def retrieve(self, username: str | None = None) -> User:
        """A user's profile.

        Args:
            username: Whose profile; the caller's own when None (which needs an
                access key). ``email``, ``spend_limit`` and ``authorization_url``
                are shown only in one's own.

        Raises:
            AuthenticationError: No username was given and there is no valid key.
            NotFoundError: There is no user by that name.
        """
        return self._run(self._plans.retrieve(username))

    def update(
        self,
        *,
        name: Change = UNSET,
        bio: Change = UNSET,
        avatar: Change = UNSET,
        website: Change = UNSET,
        github: Change = UNSET,
        spend_limit: float | Unset | None = UNSET,
        authorization_url: Change = UNSET,
    ) -> User:
        """Change the caller's profile; fields left out are kept, None clears one.

        Args:
            name: Display name.
            bio: A few words about the user.
            avatar: The URL of a picture.
            website: A web address.
            github: A GitHub handle, without ``@``.
            spend_limit: The most this account may spend a month; predictions
                billed to it are refused (402) once the month's costs reach it.
            authorization_url: The https URL that approves predictions made
                with keys the owner hands out (see ``docs/authorization.md``).
                Setting the first one makes a signing secret, returned in
                ``authorization_secret`` this once.

        Returns:
            The profile as changed.

        Raises:
            InvalidRequestError: A field is not valid; the message names it.
        """
        fields = changes(
            name=name,
            bio=bio,
            avatar=avatar,
            website=website,
            github=github,
            spend_limit=spend_limit,
            authorization_url=authorization_url,
        )
        return self._run(self._plans.update(fields))

    def rotate_authorization_secret(self) -> User:
        """Replace the secret that signs requests to the caller's authorization URL.

        Returns:
            The profile, with the new secret in ``authorization_secret``: the
            only time it is shown.

        Raises:
            InvalidRequestError: The account has no authorization URL.
        """
        return self._run(self._plans.rotate_authorization_secret())


class AsyncUsers:
    """Read and change accounts (async; see :class:`Users`)."""

    def __init__(self, driver: AsyncDriver, plans: UserPlans) -> None:
        self._run = driver.run
        self._plans = plans

    async def retrieve(self, username: str | None = None) -> User:
        """A user's profile; the caller's own when ``username`` is None."""
        return await self._run(self._plans.retrieve(username))

    async def update(
        self,
        *,
        name: Change = UNSET,
        bio: Change = UNSET,
        avatar: Change = UNSET,
        website: Change = UNSET,
        github: Change = UNSET,
        spend_limit: float | Unset | None = UNSET,
        authorization_url: Change = UNSET,
    ) -> User:
        """Change the caller's profile; see :meth:`Users.update`."""
        fields = changes(
            name=name,
            bio=bio,
            avatar=avatar,
            website=website,
            github=github,
            spend_limit=spend_limit,
            authorization_url=authorization_url,
        )
        return await self._run(self._plans.update(fields))

    async def rotate_authorization_secret(self) -> User:
        """Replace the authorization URL's signing secret; see
        :meth:`Users.rotate_authorization_secret`."""
        return await self._run(self._plans.rotate_authorization_secret())
