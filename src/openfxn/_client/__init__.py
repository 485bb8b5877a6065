"""The openfxn client library. Its public names are re-exported by ``openfxn``.

::

    clients.py          Function and AsyncFunction
    services/           each service twice, sync and async, as thin methods
    drivers.py          performing effects with httpx, sync and async
    sansio/             the I/O-free core: every operation once, as a plan of
                        effects; requests, retries, errors, values, framing
    models.py           the typed replies
    errors.py           the exception tree
    credentials.py      where the access key and server come from
    progress.py         the upload progress bar
"""
