"""Infer a predictor's signature from the type hints and docstring of ``predict``.

This module runs inside the predictor's own environment (see ``shim.py``), where
only the predictor's requirements are installed, so it needs nothing but the
standard library. numpy, Pillow and pydantic are looked up in ``sys.modules``
instead of imported: a predictor can only annotate with their types once it has
imported them itself.

Inputs are the named parameters of ``predict``; ``*args`` and ``**kwargs`` are
skipped with a warning. ``Annotated[X, ...]`` and ``Optional[X]`` (``X | None``,
which also makes the input optional) are peeled off, and X gives the dtype::

    str -> string        int -> int64        float -> float64      bool -> bool
    None -> null
    list, list[X], tuple[X, ...], tuple[A, B], Sequence[X]     -> list
    dict, dict[K, V], Mapping[K, V], a dataclass, a TypedDict  -> dict
    a pydantic BaseModel subclass                              -> dict
    numpy.ndarray                                              -> float32
    numpy.typing.NDArray[numpy.T], a numpy scalar type T       -> T's name
    PIL.Image.Image                                            -> image
    pathlib.Path                                               -> binary
    an Enum subclass or Literal[...]   -> string or int64, from the values

Python's numbers are 64-bit, hence int64 and float64. Lists and dicts whose
items are typed carry a JSON ``schema``: pydantic's when a model is involved,
otherwise one built here. Enum members become the enumeration (name and value;
a Literal value is its own name). Clients take string and integer choices only,
so other choices are dropped with a warning. An annotation that is missing, does
not resolve or matches no dtype gives ``type: null`` and a warning: nothing here
raises on account of the predictor.

An input is optional when it has a default or is annotated Optional. The default
becomes a wire Value: a number as the raw little-endian bytes of the input's
dtype with shape ``[]``, a numpy array likewise item by item with its shape, a
bool as one byte, a string as UTF-8, a list or dict as JSON text, an Enum member
as its value, and None as the null value. A default that does not fit the dtype
(a float for an integer input, 300 for uint8) is left out with a warning.

Descriptions come from the docstring's ``Args:``, ``Arguments:`` or
``Parameters:`` section, in Google style (``name (type): text`` or
``name: text``) or numpy style (``Parameters`` underlined with dashes, then
``name : type`` above indented text), with continuation lines joined.
``pydantic.Field(description=...)`` in the ``Annotated`` metadata takes
precedence.

A numeric input's ``range`` comes from ``Annotated`` metadata with ``ge``,
``gt``, ``le`` or ``lt`` attributes (annotated_types' Ge, Gt, Le, Lt and
Interval; pydantic's ``Field(ge=...)``), and failing that from its description
(case-insensitive; A and B are numbers)::

    "between A and B", "from A to B"        both ends, inclusive (add
                                            "exclusive" after B to exclude them)
    "at least A", "no less than A", "not less than A",
    "greater than or equal to A"            inclusive lower end
    "more than A", "greater than A", "larger than A"
                                            exclusive lower end
    "at most B", "no more than B", "not more than B", "up to B",
    "less than or equal to B"               inclusive upper end
    "less than B", "fewer than B", "smaller than B"
                                            exclusive upper end

A range is given only when both ends are known. An exclusive end of an integer
input moves inward to the nearest integer ("more than 13 but less than 80" gives
``[14, 79]``); a float input keeps its ends as written.

Outputs come from the return annotation: ``tuple[A, B]`` gives one output per
item, ``Iterator[X]``, ``Iterable[X]`` or ``Generator[X, ...]`` gives the
outputs of X, and no annotation gives none. An output has a type and, when it is
the only one, the description from the ``Returns:`` (or ``Yields:``) section.
"""

from __future__ import annotations

import base64
import collections.abc
import dataclasses
import enum
import functools
import inspect
import json
import math
import numbers
import pathlib
import re
import reprlib
import struct
import sys
import textwrap
import types
import typing
from collections.abc import Callable, Iterator
from typing import Any

from .values import ELEMENT_FORMATS

__all__ = ["infer_signature"]

JSON = dict[str, Any]

_STRUCT_FORMATS = ELEMENT_FORMATS  # struct codes of the numeric dtypes
_NUMERIC_DTYPES = frozenset(_STRUCT_FORMATS) - {"bool"}
_INTEGER_DTYPES = frozenset(dtype for dtype in _NUMERIC_DTYPES if "int" in dtype)
_BUILTIN_DTYPES: dict[Any, str] = {
    str: "string",
    int: "int64",
    float: "float64",
    bool: "bool",
    type(None): "null",
}
_JSON_TYPES: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    type(None): "null",
}
_CHOICE_DTYPES = frozenset({"string", "int64"})
_LIST_ORIGINS = (list, tuple, collections.abc.Sequence)
_DICT_ORIGINS = (dict, collections.abc.Mapping)
_ITERATOR_ORIGINS = (
    collections.abc.Iterator,
    collections.abc.Iterable,
    collections.abc.Generator,
)
_UNION_ORIGINS = (typing.Union, types.UnionType)
_DATA_URL_PREFIX = "data:application/octet-stream;base64,"

# Stand-ins for an annotation that is absent, and for one that did not resolve
# (already reported, so it must not be reported again as absent).
_MISSING = object()
_UNRESOLVED = object()


def infer_signature(predict: Callable[..., Any]) -> tuple[dict[str, Any], list[str]]:
    """Infer the wire ``Signature`` of ``predict`` from its hints and docstring.

    Returns the signature as JSON-ready data, ``{"inputs": [...], "outputs":
    [...]}``, each parameter with every field of the wire ``Parameter`` (null when
    unknown), and human-readable warnings about what could not be inferred. It
    never raises on account of ``predict``: what it cannot understand is null.
    """
    warnings: list[str] = []
    function = _annotated_function(predict)
    hints = _type_hints(function, warnings)
    docstring = _parse_docstring(inspect.getdoc(function) or "")
    inputs = [
        _input(parameter, hints, docstring, warnings)
        for parameter in _named_parameters(predict, warnings)
    ]
    outputs = _outputs(hints.get("return", _MISSING), docstring, warnings)

    return {"inputs": inputs, "outputs": outputs}, warnings


# ---------- the callable, its parameters and its hints ----------


def _annotated_function(predict: Callable[..., Any]) -> Any:
    """The function whose annotations and docstring describe ``predict``."""
    if isinstance(predict, functools.partial):
        return _annotated_function(predict.func)
    if inspect.isroutine(predict):
        return predict
    if isinstance(predict, type):
        return typing.cast(Any, predict).__init__
    # A callable instance: its class's __call__ holds the annotations.
    return type(predict).__call__


def _named_parameters(
    predict: Callable[..., Any], warnings: list[str]
) -> list[inspect.Parameter]:
    try:
        parameters = inspect.signature(predict).parameters.values()
    except (TypeError, ValueError) as error:
        warnings.append(
            f"The parameters of `predict` cannot be read ({error}), "
            "so its inputs are unknown."
        )
        return []

    named = []
    for parameter in parameters:
        if parameter.kind is parameter.VAR_POSITIONAL:
            warnings.append(_variadic_warning(f"*{parameter.name}"))
        elif parameter.kind is parameter.VAR_KEYWORD:
            warnings.append(_variadic_warning(f"**{parameter.name}"))
        else:
            named.append(parameter)

    return named


def _variadic_warning(name: str) -> str:
    return (
        f"Input `{name}` is skipped: clients send named inputs only, "
        "so give each input its own parameter."
    )


def _type_hints(function: Any, warnings: list[str]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(function, include_extras=True)
    except Exception:
        # One annotation that does not resolve (a forward reference to nothing,
        # mostly) spoils the whole call: resolve the others one at a time.
        pass

    hints: dict[str, Any] = {}
    annotations = getattr(function, "__annotations__", None) or {}
    for name, annotation in annotations.items():
        try:
            hints[name] = _resolve(function, name, annotation)
        except Exception as error:
            hints[name] = _UNRESOLVED
            owner = "the result" if name == "return" else f"input `{name}`"
            warnings.append(
                f"The annotation of {owner}, {annotation!r}, does not resolve "
                f"({type(error).__name__}: {error}), so its type is unknown."
            )

    return hints


def _resolve(function: Any, name: str, annotation: Any) -> Any:
    # get_type_hints resolves any object's __annotations__ in its __globals__.
    holder = types.SimpleNamespace(
        __annotations__={name: annotation},
        __globals__=getattr(function, "__globals__", {}),
    )
    return typing.get_type_hints(holder, include_extras=True)[name]


def _subject(name: str) -> str:
    return f"Input `{name}`"


# ---------- annotations ----------


@dataclasses.dataclass
class _Peeled:
    """An annotation with its ``Annotated`` metadata and ``Optional`` taken off."""

    type: Any
    metadata: list[Any] = dataclasses.field(default_factory=list)
    is_optional: bool = False


@dataclasses.dataclass
class _ValueType:
    """What an annotation says about values: their dtype, choices and schema."""

    dtype: str | None
    enumeration: list[JSON] | None = None
    schema: JSON | None = None


def _peel(annotation: Any) -> _Peeled:
    peeled = _Peeled(annotation)
    while True:
        origin = typing.get_origin(peeled.type)
        args = typing.get_args(peeled.type)
        if origin is typing.Annotated:
            peeled.type = args[0]
            peeled.metadata.extend(args[1:])
        elif _is_among(origin, _UNION_ORIGINS) and type(None) in args:
            peeled.is_optional = True
            rest = tuple(arg for arg in args if arg is not type(None))
            # Union[...] rebuilds the union of the rest; `|` fails on some members.
            peeled.type = rest[0] if len(rest) == 1 else typing.Union[rest]  # noqa: UP007
        else:
            return peeled


def _value_type(
    annotation: Any, subject: str, warnings: list[str], *, is_input: bool
) -> _ValueType:
    members = _members(annotation)
    if members is not None:
        return _enumerated_type(members, subject, warnings, is_input=is_input)

    dtype = _dtype(annotation)
    if dtype is None:
        warnings.append(
            f"{subject} is annotated `{_describe(annotation)}`, which matches no "
            f"value type, so its type is unknown{_advice(annotation)}."
        )
        return _ValueType(None)

    has_schema = is_input and dtype in ("list", "dict")
    schema = _schema(annotation, subject, warnings) if has_schema else None
    return _ValueType(dtype, schema=schema)


def _dtype(annotation: Any) -> str | None:
    """The dtype of a peeled annotation that is not an enumeration, if any fits."""
    if annotation is None or (_is_class(annotation) and annotation in _BUILTIN_DTYPES):
        return _BUILTIN_DTYPES.get(annotation, "null")
    origin = _origin(annotation)
    if _is_among(origin, _LIST_ORIGINS):
        return "list"
    if _is_among(origin, _DICT_ORIGINS) or _is_record(annotation):
        return "dict"
    if _is_class(annotation) and issubclass(annotation, pathlib.PurePath):
        return "binary"
    if _is_image_class(annotation):
        return "image"

    return _numpy_dtype(annotation)


def _origin(annotation: Any) -> Any:
    """The class behind a generic alias (``list`` for ``list[int]``), or itself."""
    return typing.get_origin(annotation) or annotation


def _is_among(origin: Any, options: tuple[Any, ...]) -> bool:
    # By identity: `in` would call the __eq__ of whatever the annotation is.
    return any(origin is option for option in options)


def _is_class(annotation: Any) -> bool:
    return isinstance(annotation, type) and not isinstance(
        annotation, types.GenericAlias
    )


def _is_record(annotation: Any) -> bool:
    """Whether values of the annotation travel as JSON objects with fields."""
    return _is_class(annotation) and (
        dataclasses.is_dataclass(annotation)
        or typing.is_typeddict(annotation)
        or _is_model(annotation)
    )


def _is_model(annotation: Any) -> bool:
    pydantic = sys.modules.get("pydantic")
    return (
        pydantic is not None
        and _is_class(annotation)
        and issubclass(annotation, pydantic.BaseModel)
    )


def _is_image_class(annotation: Any) -> bool:
    image = sys.modules.get("PIL.Image")
    return (
        image is not None
        and _is_class(annotation)
        and issubclass(annotation, image.Image)
    )


def _numpy_dtype(annotation: Any) -> str | None:
    numpy = sys.modules.get("numpy")
    if numpy is None:
        return None
    if annotation is numpy.ndarray:
        return "float32"
    if typing.get_origin(annotation) is numpy.ndarray:
        # NDArray[T] is ndarray[shape, dtype[T]]; without a T, it is float32.
        args = typing.get_args(annotation)
        scalars = typing.get_args(args[-1]) if args else ()
        if not scalars or scalars[0] is Any:
            return "float32"
        return _numpy_scalar_dtype(scalars[0])
    if _is_class(annotation) and issubclass(annotation, numpy.generic):
        return _numpy_scalar_dtype(annotation)

    return None


def _numpy_scalar_dtype(scalar: Any) -> str | None:
    # numpy 1 spells its boolean scalar type `bool_`; numpy 2, `bool`.
    name = getattr(scalar, "__name__", "").removesuffix("_")
    return name if name in _STRUCT_FORMATS else None


def _describe(annotation: Any) -> str:
    if _is_class(annotation):
        return str(annotation.__qualname__)
    return repr(annotation).replace("typing.", "")


def _advice(annotation: Any) -> str:
    if annotation is bytes:
        return ": annotate it `pathlib.Path` to receive a file"
    if _is_among(typing.get_origin(annotation), _UNION_ORIGINS):
        return ": give it a single type"
    return ""


# ---------- enumerations ----------


def _members(annotation: Any) -> list[tuple[str, Any]] | None:
    """The (name, value) choices of an Enum or Literal annotation, else None."""
    if _is_class(annotation) and issubclass(annotation, enum.Enum):
        return [(member.name, member.value) for member in annotation]
    if typing.get_origin(annotation) is typing.Literal:
        return [_literal_member(value) for value in typing.get_args(annotation)]
    return None


def _literal_member(value: Any) -> tuple[str, Any]:
    if isinstance(value, enum.Enum):
        return value.name, value.value
    return str(value), value


def _enumerated_type(
    members: list[tuple[str, Any]],
    subject: str,
    warnings: list[str],
    *,
    is_input: bool,
) -> _ValueType:
    dtypes = {_natural_dtype(value) for _, value in members}
    dtype = dtypes.pop() if len(dtypes) == 1 else None
    if dtype not in _CHOICE_DTYPES and is_input:
        warnings.append(_choices_warning(subject, dtype, members))
    if dtype not in _CHOICE_DTYPES or not is_input:
        return _ValueType(dtype)

    return _ValueType(
        dtype, enumeration=[{"name": name, "value": value} for name, value in members]
    )


def _choices_warning(subject: str, dtype: str | None, members: list[Any]) -> str:
    if not members:
        return f"{subject} has no choices, so its type is unknown."
    if dtype is None:
        return (
            f"{subject} has choices of mixed or unsupported types, so its type is "
            "unknown and its choices are dropped: use all strings or all integers."
        )
    return (
        f"{subject} has `{dtype}` choices, which clients do not accept as choices, "
        "so they are dropped: use strings or integers."
    )


def _natural_dtype(value: Any) -> str | None:
    """The dtype a plain Python value travels as, or None for other values."""
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dict):
        return "dict"
    return _BUILTIN_DTYPES.get(type(value))


# ---------- JSON schemas ----------


class _NoSchema(Exception):
    """Raised for a type that the stdlib JSON-schema builder does not know."""

    def __init__(self, annotation: Any) -> None:
        super().__init__(annotation)
        self.annotation = annotation


def _schema(annotation: Any, subject: str, warnings: list[str]) -> JSON | None:
    if not typing.get_args(annotation) and not _is_record(annotation):
        return None  # a bare list or dict says nothing about its items
    if _involves_model(annotation):
        return _model_schema(annotation, subject, warnings)

    try:
        return _json_schema(annotation, frozenset())
    except _NoSchema as error:
        warnings.append(
            f"{subject} has no JSON schema: `{_describe(error.annotation)}` has "
            "no JSON form."
        )
        return None


def _involves_model(annotation: Any) -> bool:
    return _is_model(annotation) or any(
        _involves_model(arg) for arg in typing.get_args(annotation)
    )


def _model_schema(annotation: Any, subject: str, warnings: list[str]) -> JSON | None:
    pydantic = sys.modules["pydantic"]
    try:
        schema: JSON = pydantic.TypeAdapter(annotation).json_schema()
    except Exception as error:
        warnings.append(f"{subject} has no JSON schema: pydantic says {error}")
        return None
    return schema


def _json_schema(annotation: Any, seen: frozenset[Any]) -> JSON:
    peeled = _peel(annotation)
    if peeled.is_optional:
        return {"anyOf": [_json_schema(peeled.type, seen), {"type": "null"}]}
    annotation = peeled.type
    if annotation is Any:
        return {}
    if annotation is None or (_is_class(annotation) and annotation in _JSON_TYPES):
        return {"type": _JSON_TYPES.get(annotation, "null")}
    members = _members(annotation)
    if members is not None:
        return {"enum": [value for _, value in members]}

    return _container_schema(annotation, seen)


def _container_schema(annotation: Any, seen: frozenset[Any]) -> JSON:
    origin = _origin(annotation)
    args = typing.get_args(annotation)
    if origin is tuple and args and args[-1] is not Ellipsis:
        items = [_json_schema(arg, seen) for arg in args]
        size = len(items)
        return {
            "type": "array",
            "prefixItems": items,
            "minItems": size,
            "maxItems": size,
        }
    if _is_among(origin, _LIST_ORIGINS):
        return {"type": "array", "items": _json_schema(args[0], seen) if args else {}}
    if _is_among(origin, _DICT_ORIGINS):
        values = _json_schema(args[1], seen) if len(args) == 2 else {}
        return {"type": "object", "additionalProperties": values}
    if _is_among(origin, _UNION_ORIGINS):
        return {"anyOf": [_json_schema(arg, seen) for arg in args]}
    if _is_record(annotation):
        return _record_schema(annotation, seen)

    raise _NoSchema(annotation)


def _record_schema(record: type, seen: frozenset[Any]) -> JSON:
    if record in seen:
        return {}  # a record that contains itself; stop rather than recurse forever
    try:
        hints = typing.get_type_hints(record)
    except Exception as error:
        raise _NoSchema(record) from error

    if dataclasses.is_dataclass(record):
        fields = dataclasses.fields(record)
        names = [field.name for field in fields]
        required = [field.name for field in fields if not _has_default(field)]
    else:
        names = list(hints)
        required = sorted(getattr(record, "__required_keys__", ()))
    properties = {name: _json_schema(hints[name], seen | {record}) for name in names}

    return {
        "type": "object",
        "title": record.__name__,
        "properties": properties,
        "required": required,
    }


def _has_default(field: dataclasses.Field[Any]) -> bool:
    return (
        field.default is not dataclasses.MISSING
        or field.default_factory is not dataclasses.MISSING
    )


# ---------- inputs ----------


def _input(
    parameter: inspect.Parameter,
    hints: dict[str, Any],
    docstring: _Docstring,
    warnings: list[str],
) -> JSON:
    name = parameter.name
    peeled = _peeled_input(name, hints.get(name, _MISSING), warnings)
    subject = _subject(name)
    kind = (
        _value_type(peeled.type, subject, warnings, is_input=True)
        if peeled.type is not _MISSING
        else _ValueType(None)
    )
    description = _field_description(peeled.metadata) or docstring.inputs.get(name)
    has_default = parameter.default is not parameter.empty

    return {
        "name": name,
        "type": kind.dtype,
        "description": description,
        "optional": has_default or peeled.is_optional,
        "range": _range(kind.dtype, peeled.metadata, description, subject, warnings),
        "enumeration": kind.enumeration,
        "defaultValue": (
            _default_value(parameter, kind.dtype, warnings) if has_default else None
        ),
        "schema": kind.schema,
    }


def _peeled_input(name: str, annotation: Any, warnings: list[str]) -> _Peeled:
    if annotation is _MISSING:
        warnings.append(
            f"Input `{name}` has no type annotation, so its type is unknown: "
            f"annotate it, as in `{name}: str`."
        )
    if annotation is _MISSING or annotation is _UNRESOLVED:
        return _Peeled(_MISSING)
    return _peel(annotation)


def _field_description(metadata: list[Any]) -> str | None:
    """The ``description`` of a pydantic ``Field`` in ``Annotated`` metadata."""
    for item in metadata:
        description = getattr(item, "description", None)
        if isinstance(description, str) and description:
            return description
    return None


# ---------- default values ----------


class _Unencodable(Exception):
    """Raised for a default that no wire value of the input's dtype can carry."""


def _default_value(
    parameter: inspect.Parameter, dtype: str | None, warnings: list[str]
) -> JSON | None:
    try:
        return _encode(parameter.default, dtype)
    except _Unencodable:
        kind = f"`{dtype}` value" if dtype else "value"
        warnings.append(
            f"Input `{parameter.name}` defaults to {reprlib.repr(parameter.default)}, "
            f"which no {kind} can carry, so clients will not see the default."
        )
        return None


def _encode(value: Any, dtype: str | None) -> JSON:
    """``value`` as a wire Value of ``dtype``, or of its own dtype when None."""
    if value is None:
        return {"data": None, "type": "null", "shape": None}
    if isinstance(value, enum.Enum):
        value = value.value
    if _is_array(value):
        return _array_value(value, dtype)

    dtype = dtype or _natural_dtype(value)
    if dtype in _STRUCT_FORMATS:
        return _number_value(value, dtype)
    if dtype == "string" and isinstance(value, str):
        return _value(value.encode(), dtype, None)
    if dtype in ("list", "dict"):
        return _json_value(value, dtype)

    raise _Unencodable


def _value(data: bytes, dtype: str, shape: list[int] | None) -> JSON:
    encoded = base64.b64encode(data).decode("ascii")
    return {"data": _DATA_URL_PREFIX + encoded, "type": dtype, "shape": shape}


def _number_value(value: Any, dtype: str) -> JSON:
    return _value(_pack([value], dtype), dtype, [])


def _pack(items: list[Any], dtype: str) -> bytes:
    """``items`` as raw little-endian ``dtype`` values, or _Unencodable."""
    # struct packs any object as a bool, and a bool as a number: keep them apart.
    if any((dtype == "bool") != isinstance(item, bool) for item in items):
        raise _Unencodable
    try:
        return struct.pack(f"<{len(items)}{_STRUCT_FORMATS[dtype]}", *items)
    except (struct.error, TypeError, OverflowError) as error:
        raise _Unencodable from error


def _json_value(value: Any, dtype: str) -> JSON:
    value = _plain(value)
    expected = (list, tuple) if dtype == "list" else dict
    if not isinstance(value, expected):
        raise _Unencodable
    try:
        text = json.dumps(value)
    except (TypeError, ValueError) as error:
        raise _Unencodable from error
    return _value(text.encode(), dtype, None)


def _plain(value: Any) -> Any:
    """A pydantic model or dataclass instance as the dict clients would send."""
    try:
        if callable(getattr(type(value), "model_dump", None)):
            return value.model_dump(mode="json", by_alias=True)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return dataclasses.asdict(value)
    except Exception as error:
        raise _Unencodable from error
    return value


def _is_array(value: Any) -> bool:
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, numpy.ndarray)


def _array_value(array: Any, dtype: str | None) -> JSON:
    # In the input's dtype, as a number is, so that the Value agrees with the
    # Parameter: np.zeros(3) is float64, but a bare ndarray input is float32.
    dtype = dtype or _numpy_scalar_dtype(array.dtype.type)
    if dtype not in _STRUCT_FORMATS:
        raise _Unencodable
    items = array.ravel(order="C").tolist()
    return _value(_pack(items, dtype), dtype, list(array.shape))


# ---------- ranges ----------

_Bound = tuple[float, bool]  # an end of a range, and whether it is included

_NUMBER = r"([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"
_NOT = r"(?<!\bno )(?<!\bnot )"  # "no more than" is not "more than"
_BOTH_ENDS = tuple(
    re.compile(pattern + r"(\s*\(?\s*exclusive)?", re.IGNORECASE)
    for pattern in (
        rf"\bbetween\s+{_NUMBER}\s+and\s+{_NUMBER}",
        rf"\bfrom\s+{_NUMBER}\s+to\s+{_NUMBER}",
    )
)
_LOWER_ENDS = (
    (
        rf"\b(?:at\s+least|no\s+less\s+than|not\s+less\s+than"
        rf"|greater\s+than\s+or\s+equal\s+to)\s+{_NUMBER}",
        True,
    ),
    (rf"{_NOT}\b(?:more|greater|larger)\s+than\s+{_NUMBER}", False),
)
_UPPER_ENDS = (
    (
        rf"\b(?:at\s+most|no\s+more\s+than|not\s+more\s+than|up\s+to"
        rf"|less\s+than\s+or\s+equal\s+to)\s+{_NUMBER}",
        True,
    ),
    (rf"{_NOT}\b(?:less|fewer|smaller)\s+than\s+{_NUMBER}", False),
)


def _range(
    dtype: str | None,
    metadata: list[Any],
    description: str | None,
    subject: str,
    warnings: list[str],
) -> list[float] | None:
    if dtype not in _NUMERIC_DTYPES:
        return None
    metadata_lower, metadata_upper = _metadata_bounds(metadata)
    prose_lower, prose_upper = _prose_bounds(description or "")
    lower = metadata_lower or prose_lower
    upper = metadata_upper or prose_upper
    if lower is None or upper is None:
        return None

    ends = [_end(lower, dtype, is_lower=True), _end(upper, dtype, is_lower=False)]
    if ends[0] > ends[1]:
        warnings.append(f"{subject} has an empty range, {ends}, which is left out.")
        return None
    return ends


def _end(bound: _Bound, dtype: str, *, is_lower: bool) -> float:
    value, inclusive = bound
    if dtype not in _INTEGER_DTYPES:
        return value
    if is_lower:
        return math.ceil(value) if inclusive else math.floor(value) + 1
    return math.floor(value) if inclusive else math.ceil(value) - 1


def _metadata_bounds(metadata: list[Any]) -> tuple[_Bound | None, _Bound | None]:
    lower = upper = None
    for item in _constraints(metadata):
        lower = lower or _bound(item, "ge", True) or _bound(item, "gt", False)
        upper = upper or _bound(item, "le", True) or _bound(item, "lt", False)
    return lower, upper


def _constraints(metadata: list[Any]) -> Iterator[Any]:
    for item in metadata:
        yield item
        # A pydantic FieldInfo keeps its ge/le/... as annotated_types objects.
        nested = getattr(item, "metadata", None)
        if isinstance(nested, (list, tuple)):
            yield from nested


def _bound(item: Any, attribute: str, inclusive: bool) -> _Bound | None:
    value = getattr(item, attribute, None)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    number = float(value)
    return (number, inclusive) if math.isfinite(number) else None


def _prose_bounds(text: str) -> tuple[_Bound | None, _Bound | None]:
    """The ends of a range that ``text`` states in words, each (value, inclusive).

    An end is None when the text does not state it.
    """
    for pattern in _BOTH_ENDS:
        match = pattern.search(text)
        if match:
            inclusive = match.group(3) is None
            return (float(match[1]), inclusive), (float(match[2]), inclusive)

    return _first_bound(_LOWER_ENDS, text), _first_bound(_UPPER_ENDS, text)


def _first_bound(patterns: tuple[tuple[str, bool], ...], text: str) -> _Bound | None:
    for pattern, inclusive in patterns:
        match = re.search(pattern, text, re.IGNORECASE)
        if match:
            return float(match[1]), inclusive
    return None


# ---------- docstrings ----------

_INPUT_SECTIONS = frozenset(
    {"args", "arguments", "parameters", "params", "keyword args", "other parameters"}
)
_RETURN_SECTIONS = ("returns", "return")
_YIELD_SECTIONS = ("yields", "yield")
_OTHER_SECTIONS = frozenset(
    {"raises", "examples", "example", "notes", "note", "see also", "references"}
    | {"warnings", "warns", "attributes", "methods", "todo"}
)
_SECTIONS = (
    _INPUT_SECTIONS | set(_RETURN_SECTIONS) | set(_YIELD_SECTIONS) | _OTHER_SECTIONS
)
_UNDERLINE = re.compile(r"^\s*-{3,}\s*$")
_GOOGLE_ENTRY = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_NUMPY_ENTRY = re.compile(r"^(\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)*)\s*(?::.*)?$")
_RETURN_TYPE = re.compile(r"^[\w.]+(?:\[[\w.\[\], |]*\])?:\s+")


@dataclasses.dataclass
class _Docstring:
    """What a docstring says about the inputs, by name, and about the result."""

    inputs: dict[str, str]
    returns: str | None
    yields: str | None


@dataclasses.dataclass
class _Section:
    lines: list[str]  # the body, dedented
    is_numpy: bool


def _parse_docstring(docstring: str) -> _Docstring:
    sections = _sections(docstring.splitlines())
    inputs: dict[str, str] = {}
    for name, section in sections.items():
        if name in _INPUT_SECTIONS:
            inputs.update(_entries(section))
    return _Docstring(
        inputs,
        returns=_result_text(sections, _RETURN_SECTIONS),
        yields=_result_text(sections, _YIELD_SECTIONS),
    )


def _sections(lines: list[str]) -> dict[str, _Section]:
    sections: dict[str, _Section] = {}
    index = 0
    while index < len(lines):
        header = _header(lines, index)
        if header is None:
            index += 1
            continue
        name, is_numpy = header
        start = index + (2 if is_numpy else 1)
        end = _section_end(lines, start, _indent(lines[index]), is_numpy)
        body = textwrap.dedent("\n".join(lines[start:end])).splitlines()
        sections.setdefault(name, _Section(body, is_numpy))
        index = end
    return sections


def _header(lines: list[str], index: int) -> tuple[str, bool] | None:
    """The lowercased name of the section that starts at ``lines[index]``, if any,
    and whether it is numpy style (underlined) rather than Google style."""
    text = lines[index].strip()
    is_numpy = index + 1 < len(lines) and bool(_UNDERLINE.match(lines[index + 1]))
    if not is_numpy and not text.endswith(":"):
        return None
    name = text.removesuffix(":").strip().lower()
    return (name, is_numpy) if name in _SECTIONS else None


def _section_end(lines: list[str], start: int, indent: int, is_numpy: bool) -> int:
    for index in range(start, len(lines)):
        line = lines[index]
        if not line.strip():
            continue
        # A Google section is indented under its header; a numpy one is not.
        if _header(lines, index) or (not is_numpy and _indent(line) <= indent):
            return index
    return len(lines)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _entries(section: _Section) -> dict[str, str]:
    """The description of each input an input section names."""
    texts: dict[str, list[str]] = {}
    current: list[str] = []
    for line in section.lines:
        if not line.strip():
            continue
        head = None if line[0].isspace() else _entry_head(line, section.is_numpy)
        if head is None:
            current.append(line.strip())  # a continuation line
            continue
        names, first = head
        current = [first] if first else []
        for name in names:
            texts[name] = current
    return {name: " ".join(parts) for name, parts in texts.items() if parts}


def _entry_head(line: str, is_numpy: bool) -> tuple[list[str], str] | None:
    if is_numpy:
        match = _NUMPY_ENTRY.match(line)
        if match is None:
            return None
        names = [name.strip().lstrip("*") for name in match[1].split(",")]
        return names, ""  # the type follows the colon; the text, on later lines
    match = _GOOGLE_ENTRY.match(line)
    return ([match[1]], match[2].strip()) if match else None


def _result_text(sections: dict[str, _Section], names: tuple[str, ...]) -> str | None:
    section = next((sections[name] for name in names if name in sections), None)
    if section is None:
        return None
    if section.is_numpy:
        # Unindented lines name the type; the indented ones describe it.
        parts = [line.strip() for line in section.lines if line[:1].isspace()]
    else:
        parts = [line.strip() for line in section.lines if line.strip()]
        if parts:
            parts[0] = _RETURN_TYPE.sub("", parts[0], count=1)
    return " ".join(parts) or None


# ---------- outputs ----------


def _outputs(annotation: Any, docstring: _Docstring, warnings: list[str]) -> list[JSON]:
    if annotation is _MISSING or annotation is _UNRESOLVED:
        return []
    result, is_stream = _result_type(_peel(annotation).type, warnings)
    items = _result_items(result, warnings)
    description = docstring.returns
    if is_stream:
        description = docstring.yields or description
    if len(items) != 1:
        description = None

    return [
        _output(item, _output_subject(position, len(items)), description, warnings)
        for position, item in enumerate(items)
    ]


def _result_type(annotation: Any, warnings: list[str]) -> tuple[Any, bool]:
    """What each call (or for a generator, each step) of ``predict`` returns."""
    if not _is_among(_origin(annotation), _ITERATOR_ORIGINS):
        return annotation, False
    args = typing.get_args(annotation)
    if not args:
        warnings.append(
            f"The return annotation, `{_describe(annotation)}`, does not say what "
            "`predict` yields, so its outputs are unknown: annotate it as in "
            "`Iterator[str]`."
        )
        return _MISSING, True
    return _peel(args[0]).type, True


def _result_items(result: Any, warnings: list[str]) -> list[Any]:
    if result is _MISSING:
        return []
    if _origin(result) is not tuple:
        return [result]
    args = typing.get_args(result)
    if not args or args[-1] is Ellipsis:
        warnings.append(
            "`predict` returns a tuple of unknown length, so its outputs are "
            "unknown: give the type of each item, as in `tuple[str, int]`."
        )
        return []
    return [_peel(arg).type for arg in args]


def _output_subject(position: int, count: int) -> str:
    return "The output" if count == 1 else f"Output {position + 1}"


def _output(
    annotation: Any, subject: str, description: str | None, warnings: list[str]
) -> JSON:
    kind = _value_type(annotation, subject, warnings, is_input=False)
    return {
        "name": None,
        "type": kind.dtype,
        "description": description,
        "optional": None,
        "range": None,
        "enumeration": None,
        "defaultValue": None,
        "schema": None,
    }
