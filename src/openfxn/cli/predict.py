"""``openfxn predict``: run a predictor with inputs from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from openfxn import Function, Prediction, PredictionStatus
from openfxn._client.sansio import images, mimes
from openfxn.cli import inputs
from openfxn.cli.errors import CommandError, ExitCode
from openfxn.cli.options import JsonOutput, Tag, connect
from openfxn.cli.output import dump, echo_json, note


class ResultWriter:
    """Prints results, saving files (images, bytes) under ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.saved = 0

    def plain(self, result: Any, prediction: Prediction) -> Any:
        """``result`` as JSON can hold it: a file is saved, and its path kept."""
        if images.is_image(result) or isinstance(result, bytes):
            return str(self.save(result, prediction))
        if hasattr(result, "tolist"):  # a numpy array
            return result.tolist()
        return result

    def save(self, result: Any, prediction: Prediction) -> Path:
        if isinstance(result, bytes):
            data, suffix = result, mimes.suffix_for(mimes.sniff(result)) or ".bin"
        else:
            data, mime = images.encode(result, "result")
            suffix = mimes.suffix_for(mime)
        self.saved += 1
        path = self.folder / f"{prediction.id}-{self.saved}{suffix}"
        self.folder.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def show(self, prediction: Prediction) -> None:
        """Each result on a line: text as it is, files as their path, the rest
        as JSON."""
        for result in prediction.results or []:
            value = self.plain(result, prediction)
            is_text = isinstance(value, str)
            typer.echo(value if is_text else json.dumps(value, ensure_ascii=False))

    def json_of(self, prediction: Prediction) -> dict[str, Any]:
        """The whole prediction as JSON, files saved and named by their path."""
        data = dump(prediction.model_copy(update={"results": None}))
        if prediction.results is not None:
            data["results"] = [self.plain(r, prediction) for r in prediction.results]
        return data


def predict(
    ctx: typer.Context,
    tag: Tag,
    stream: Annotated[
        bool,
        typer.Option(
            "--stream", help="Print each result a generator yields, as it comes."
        ),
    ] = False,
    output_dir: Annotated[
        Path, typer.Option("--output-dir", "-o", help="Where result files go.")
    ] = Path("."),
    as_json: JsonOutput = False,
) -> None:
    """Run a predictor on inputs given as `--name value`, and print its results.

    Each value is read as the type the predictor's signature gives its input: a
    whole number, a number, `true` or `false`, JSON for lists and dicts,
    `@path` for files (image files go as images). Inputs named like the options
    here go after `--`. Files in the results (images included) are saved, and
    their paths printed. When predict raises, its error goes to standard error
    and the exit status is 3.

    Example: `openfxn predict @ada/greeting --name Rhea --age 44`
    """
    fxn = connect(ctx)
    given = inputs.parse(ctx.args, fxn.predictors.retrieve(tag).signature)
    writer = ResultWriter(output_dir)
    if stream:
        prediction = run_streamed(fxn, tag, given, writer, as_json)
    else:
        prediction = fxn.predictions.create(tag, given)
        if as_json:
            echo_json(writer.json_of(prediction))
        else:
            writer.show(prediction)
    if prediction.logs and not as_json:
        note(prediction.logs.rstrip("\n"))
    if prediction.error:
        raise CommandError(f"{tag} raised:\n{prediction.error}", ExitCode.FAILED)


def run_streamed(
    fxn: Function,
    tag: str,
    given: dict[str, Any],
    writer: ResultWriter,
    as_json: bool,
) -> Prediction:
    """The final prediction, each partial one printed as it came (with
    ``as_json``, every prediction, one JSON object a line)."""
    final, partials = None, 0
    for final in fxn.predictions.stream(tag, given):
        if as_json:
            typer.echo(json.dumps(writer.json_of(final), ensure_ascii=False))
        elif final.status == PredictionStatus.RUNNING:
            partials += 1
            writer.show(final)
    if final is None:
        raise CommandError(f"The stream of {tag} ended without a prediction.")
    if not as_json and partials == 0:  # not a generator: only the final one came
        writer.show(final)
    return final
