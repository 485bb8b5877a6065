"""REST routes for bytes, beside the operations: the PUT and GET of signed
upload URLs, and creating a predictor from a multipart form with its file."""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import FastAPI, File, Form, Request, UploadFile
from starlette.responses import Response

from openfxn.server.services.models import (
    Acceleration,
    AccessMode,
    CreatePredictorInput,
    Predictor,
    parse,
)
from openfxn.server.services.uploads import PREFIX
from openfxn.server.transports.rest import (
    ERROR_RESPONSES,
    CallerDep,
    ServicesDep,
    base_url,
)


async def put_upload(path: str, request: Request, services: ServicesDep) -> Response:
    """Store the raw body sent to a signed upload URL (no Authorization needed)."""
    await services.uploads.put(
        PREFIX + path,
        dict(request.query_params),
        await request.body(),
        request.headers.get("content-type"),
    )
    return Response(status_code=200)


async def get_upload(path: str, services: ServicesDep) -> Response:
    """The bytes of an upload, with the content type they were uploaded with."""
    stored = await services.uploads.get(PREFIX + path)
    return Response(stored.data, media_type=stored.content_type)


async def create_predictor_from_form(
    request: Request,
    caller: CallerDep,
    services: ServicesDep,
    tag: Annotated[str, Form()],
    notebook: Annotated[UploadFile, File(description="The .ipynb or .py source")],
    access: Annotated[AccessMode | None, Form()] = None,
    description: Annotated[str | None, Form(max_length=200)] = None,
    acceleration: Annotated[Acceleration | None, Form()] = None,
    license: Annotated[str | None, Form()] = None,
    overwrite: Annotated[bool, Form()] = False,
) -> Predictor:
    """Create a predictor from a multipart form: the same as POST /predictors,
    with the source file in the `notebook` field instead of a URL."""
    data = await notebook.read()
    name = notebook.filename or "predictor.py"
    as_url = f"data:application/octet-stream;name={name};base64,"
    fields = {
        "tag": tag,
        "notebook": as_url + base64.b64encode(data).decode(),
        "access": access,
        "description": description,
        "acceleration": acceleration,
        "license": license,
        "overwrite": overwrite,
    }
    created = parse(CreatePredictorInput, fields)
    return await services.predictors.create(caller, created, base_url(request))


def add_file_routes(app: FastAPI) -> None:
    app.add_api_route(
        PREFIX + "{path:path}",
        put_upload,
        methods=["PUT"],
        operation_id="putUpload",
        summary="Upload the bytes of a file to a signed URL from createUploadUrl.",
        responses=ERROR_RESPONSES,
    )
    app.add_api_route(
        PREFIX + "{path:path}",
        get_upload,
        methods=["GET"],
        operation_id="getUpload",
        summary="Read an uploaded file.",
        responses=ERROR_RESPONSES,
        response_class=Response,
    )
    app.add_api_route(
        "/predictors/upload",
        create_predictor_from_form,
        methods=["POST"],
        operation_id="createPredictorFromForm",
        summary="Create a predictor from a multipart form holding its source file.",
        status_code=201,
        responses=ERROR_RESPONSES,
    )
