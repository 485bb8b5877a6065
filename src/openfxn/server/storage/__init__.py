"""Object storage: uploaded notebooks, media and values, and predictor sources.

Everything the server keeps as bytes rather than rows goes through the small
:class:`~openfxn.server.storage.objects.Storage` interface: put, get, exists
and delete by key, each object with its content type. ``objects`` holds the
interface and the local-disk implementation; ``signing`` makes and checks the
signed URLs that let a client PUT an upload without an access key.
"""
