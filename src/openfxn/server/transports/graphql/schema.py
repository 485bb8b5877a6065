"""The executable GraphQL schema: the SDL file with resolvers bound from the list."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

from graphql import GraphQLObjectType, GraphQLSchema, build_schema

from openfxn.server.services.operations import OPERATIONS
from openfxn.server.transports.graphql.resolvers import FIELDS, RESOLVERS


def sdl() -> str:
    """The schema this server publishes, as GraphQL SDL."""
    return files(__package__).joinpath("schema.graphql").read_text(encoding="utf-8")


@cache
def executable_schema() -> GraphQLSchema:
    schema = build_schema(sdl())
    bound: dict[str, Any] = dict(FIELDS)
    for operation in OPERATIONS:
        bound[operation.graphql] = RESOLVERS[operation.name]
    for path, resolver in bound.items():
        type_name, field_name = path.split(".")
        parent = schema.get_type(type_name)
        assert isinstance(parent, GraphQLObjectType), path
        parent.fields[field_name].resolve = resolver

    # Organizations have no accounts of their own yet; every profile is a user.
    profile = schema.get_type("Profile")
    profile.resolve_type = lambda _value, _info, _type: "User"  # type: ignore[union-attr]
    # A User resolver serves the interface field too.
    prediction = schema.get_type("Prediction")
    prediction.resolve_type = lambda _value, _info, _type: "CloudPrediction"  # type: ignore[union-attr]
    return schema
