"""The ``storage`` service: files uploaded to the server, and read back."""

from __future__ import annotations

from openfxn._client.drivers import AsyncDriver, SyncDriver
from openfxn._client.models import UploadType
from openfxn._client.progress import progress_callback
from openfxn._client.sansio.effects import ProgressCallback
from openfxn._client.sansio.storage import File, StoragePlans


class Storage:
    """Upload files to the server, to pass them as values, notebooks or media."""

    def __init__(self, driver: SyncDriver, plans: StoragePlans) -> None:
        self._run = driver.run
        self._plans = plans

    def upload(
        self,
        file: File,
        *,
        name: str | None = None,
        type: UploadType | str = UploadType.VALUE,
        mime: str | None = None,
        progress: bool | ProgressCallback = False,
    ) -> str:
        """Upload bytes, or a file by its path, and return its URL.

        Args:
            file: ``bytes`` (or a bytearray, memoryview or ``io.BytesIO``), or
                the path of a file (a ``str`` here is a path).
            name: The file name to store it under; the path's name by default.
            type: What it is for: a prediction VALUE, a predictor's NOTEBOOK
                (its source) or MEDIA. Each has its own size limit.
            mime: Its Content-Type; sniffed from the bytes by default.
            progress: True for a progress bar on standard error, or a callable
                taking the bytes sent so far and the total.

        Returns:
            The upload's URL, without the signature the upload itself needed:
            pass it as an input value's ``data``, a predictor's source or media.

        Raises:
            ConversionError: The file cannot be read.
            InvalidRequestError: The file is larger than the server accepts (413).
        """
        plan = self._plans.upload_file(
            file, name, type, mime, progress_callback(progress)
        )
        return self._run(plan)

    def create_upload_url(
        self,
        name: str,
        type: UploadType | str = UploadType.VALUE,
        key: str | None = None,
    ) -> str:
        """A signed URL to PUT a file to, without credentials, for a while.

        Args:
            name: The file name, which ends the URL.
            type: VALUE, NOTEBOOK or MEDIA.
            key: Groups related uploads under one folder; random when None.
        """
        return self._run(self._plans.create_upload_url(name, type, key))

    def download(self, url: str) -> bytes:
        """The bytes at ``url``: an upload, or a result too large to come inline.

        The access key is sent along only when ``url`` is on this client's server.
        """
        return self._run(self._plans.download(url))


class AsyncStorage:
    """Upload files to the server (async; see :class:`Storage`)."""

    def __init__(self, driver: AsyncDriver, plans: StoragePlans) -> None:
        self._run = driver.run
        self._plans = plans

    async def upload(
        self,
        file: File,
        *,
        name: str | None = None,
        type: UploadType | str = UploadType.VALUE,
        mime: str | None = None,
        progress: bool | ProgressCallback = False,
    ) -> str:
        """Upload bytes, or a file by its path, and return its URL; see
        :meth:`Storage.upload`."""
        plan = self._plans.upload_file(
            file, name, type, mime, progress_callback(progress)
        )
        return await self._run(plan)

    async def create_upload_url(
        self,
        name: str,
        type: UploadType | str = UploadType.VALUE,
        key: str | None = None,
    ) -> str:
        """A signed URL to PUT a file to, without credentials."""
        return await self._run(self._plans.create_upload_url(name, type, key))

    async def download(self, url: str) -> bytes:
        """The bytes at ``url``; the key goes along only to this client's server."""
        return await self._run(self._plans.download(url))
