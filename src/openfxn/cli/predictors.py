"""``openfxn predictors``: create, find and remove predictors."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from openfxn import (
    Acceleration,
    AccessMode,
    Function,
    Parameter,
    Predictor,
    PredictorStatus,
    TimeoutError,
)
from openfxn.cli.errors import CommandError, ExitCode, UsageProblem
from openfxn.cli.options import Count, JsonOutput, Offset, Tag, connect
from openfxn.cli.output import (
    activity,
    day,
    dump,
    echo_json,
    fields,
    listing,
    note,
    when,
)

app = typer.Typer(
    help="Create predictors from Python files or notebooks; find and remove them.",
    no_args_is_help=True,
)

DEFAULT_WAIT_S = 600.0


def parameters(signature: Sequence[Parameter]) -> str:
    """``name (type), name (type, optional)``."""
    shown = []
    for parameter in signature:
        traits = [parameter.type or "any"]
        if parameter.optional:
            traits.append("optional")
        name = f"{parameter.name} " if parameter.name else ""
        shown.append(f"{name}({', '.join(traits)})")
    return ", ".join(shown)


def show(predictor: Predictor) -> None:
    signature = predictor.signature
    fields(
        [
            ("tag", predictor.tag),
            ("status", predictor.status),
            ("error", predictor.error),
            ("description", predictor.description),
            ("access", predictor.access),
            ("acceleration", predictor.acceleration),
            ("inputs", parameters(signature.inputs) if signature else None),
            ("outputs", parameters(signature.outputs) if signature else None),
            ("predictions", str(predictor.predictions)),
            ("created", when(predictor.created)),
            ("license", predictor.license),
        ]
    )


COLUMNS = ("TAG", "STATUS", "ACCESS", "PREDICTIONS", "CREATED", "DESCRIPTION")


def row(predictor: Predictor) -> tuple[str, ...]:
    return (
        predictor.tag,
        predictor.status,
        predictor.access,
        str(predictor.predictions),
        day(predictor.created),
        predictor.description or "",
    )


def environment(pairs: list[str]) -> dict[str, str]:
    variables = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name:
            raise UsageProblem(f"--env takes NAME=VALUE, not '{pair}'.")
        variables[name] = value
    return variables


@app.command()
def create(
    ctx: typer.Context,
    tag: Annotated[str, typer.Argument(metavar="TAG", help="Its tag, @you/name.")],
    source: Annotated[
        str,
        typer.Argument(
            metavar="FILE", help="A .py file or .ipynb notebook defining predict."
        ),
    ],
    access: Annotated[
        AccessMode | None,
        typer.Option(case_sensitive=False, help="Who may run it (default PRIVATE)."),
    ] = None,
    description: Annotated[
        str | None, typer.Option(help="A line about it, up to 200 characters.")
    ] = None,
    media: Annotated[
        Path | None, typer.Option(help="A picture for it.", exists=True, dir_okay=False)
    ] = None,
    acceleration: Annotated[
        Acceleration | None,
        typer.Option(case_sensitive=False, help="Hardware to run on (default CPU)."),
    ] = None,
    license: Annotated[str | None, typer.Option(help="The URL of its license.")] = None,
    env: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAME=VALUE",
            help="A secret for this predictor alone; repeatable.",
            show_default=False,
        ),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace a predictor with this tag.")
    ] = False,
    wait: Annotated[
        bool, typer.Option(help="Wait until it is ACTIVE or INVALID.")
    ] = True,
    wait_timeout: Annotated[
        float, typer.Option(help="Seconds to wait for provisioning.")
    ] = DEFAULT_WAIT_S,
    as_json: JsonOutput = False,
) -> None:
    """Upload a Python file or notebook as a predictor, and wait while the
    server provisions it. Exits 3, with the reason, if it ends INVALID.

    Example: `openfxn predictors create @ada/greeting greeting.py --access public`
    """
    fxn = connect(ctx)
    with activity(f"Uploading {source}") as shown:
        predictor = fxn.predictors.create(
            tag,
            source,
            environment=environment(env or []),
            overwrite=overwrite or None,
            access=access,
            description=description,
            media=media,
            acceleration=acceleration,
            license=license,
            progress=shown.progress,
        )
        if wait:
            shown.update(f"Provisioning {predictor.tag}")
            predictor = wait_for(fxn, predictor.tag, wait_timeout)
    if as_json:
        echo_json(dump(predictor))
    if predictor.status == PredictorStatus.INVALID:
        raise invalid(predictor)
    if not as_json:
        show(predictor)


def invalid(predictor: Predictor) -> CommandError:
    message = f"{predictor.tag} is INVALID: {predictor.error}"
    if predictor.log:
        message += (
            f"\nIts provisioning log: openfxn predictors retrieve {predictor.tag} --log"
        )
    return CommandError(message, ExitCode.FAILED)


def wait_for(fxn: Function, tag: str, timeout: float) -> Predictor:
    try:
        return fxn.predictors.wait(tag, timeout=timeout)
    except TimeoutError:
        raise CommandError(
            f"{tag} is still PROVISIONING after {timeout:.0f} s. Follow it with "
            f"'openfxn predictors retrieve {tag}', or wait longer with "
            "--wait-timeout SECONDS."
        ) from None


@app.command()
def retrieve(
    ctx: typer.Context,
    tag: Tag,
    log: Annotated[
        bool, typer.Option("--log", help="Print its provisioning log (yours only).")
    ] = False,
    as_json: JsonOutput = False,
) -> None:
    """Show a predictor: its status, signature and more.

    Example: `openfxn predictors retrieve @ada/greeting`
    """
    predictor = connect(ctx).predictors.retrieve(tag)
    if as_json:
        echo_json(dump(predictor))
    elif log and predictor.log:
        typer.echo(predictor.log, nl=False)
    elif log:
        note(f"{tag} has no provisioning log.")
    else:
        show(predictor)


@app.command("list")
def list_predictors(
    ctx: typer.Context,
    owner: Annotated[
        str | None,
        typer.Option(help="Whose (default yours); others show public ones only."),
    ] = None,
    status: Annotated[
        PredictorStatus,
        typer.Option(case_sensitive=False, help="Which to list."),
    ] = PredictorStatus.ACTIVE,
    offset: Offset = None,
    count: Count = None,
    as_json: JsonOutput = False,
) -> None:
    """List a user's predictors, newest first.

    Example: `openfxn predictors list --status invalid`
    """
    fxn = connect(ctx)
    found = fxn.predictors.list(owner, status=status, offset=offset, count=count)
    listing(found, as_json, COLUMNS, row, empty=f"No {status} predictors.")


@app.command()
def search(
    ctx: typer.Context,
    query: Annotated[
        str | None, typer.Argument(help="Words of a tag or description.")
    ] = None,
    offset: Offset = None,
    count: Count = None,
    as_json: JsonOutput = False,
) -> None:
    """Find public, active predictors by tag or description.

    Example: `openfxn predictors search greeting`
    """
    fxn = connect(ctx)
    found = fxn.predictors.search(query, offset=offset, count=count)
    listing(found, as_json, COLUMNS, row, empty="No predictor matches.")


@app.command()
def delete(ctx: typer.Context, tag: Tag) -> None:
    """Delete one of your predictors (archive public ones that have served
    predictions instead).

    Example: `openfxn predictors delete @ada/greeting`
    """
    connect(ctx).predictors.delete(tag)
    typer.echo(f"Deleted {tag}.")


@app.command()
def archive(ctx: typer.Context, tag: Tag) -> None:
    """Archive one of your predictors: it leaves lists and search, and makes no
    more predictions.

    Example: `openfxn predictors archive @ada/greeting`
    """
    predictor = connect(ctx).predictors.archive(tag)
    typer.echo(f"Archived {predictor.tag}.")
