"""The list of operations: each exists once here, and on both transports.

REST routes and GraphQL resolvers are wired from this list (a transport that
lacks a handler for an operation fails at start-up), the API reference in
``docs/api.md`` is checked against it, and a test walks it to assert that
both transports return the same data for the same request.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Operation:
    name: str
    "camelCase name; also the REST operationId."
    graphql: str
    "The GraphQL field that serves it, as 'Type.field'."
    method: str
    path: str
    summary: str


OPERATIONS = (
    Operation(
        "retrieveCurrentUser",
        "Query.user",
        "GET",
        "/user",
        "The caller's own account.",
    ),
    Operation(
        "retrieveUser",
        "Query.user",
        "GET",
        "/users/{username}",
        "A user's public profile (with email when it is the caller's own).",
    ),
    Operation(
        "updateUser",
        "Mutation.updateUser",
        "PATCH",
        "/user",
        "Change the caller's profile; null clears a field, a missing one is kept.",
    ),
    Operation(
        "rotateAuthorizationSecret",
        "Mutation.rotateAuthorizationSecret",
        "POST",
        "/user/authorizationSecret",
        "Replace the secret that signs the requests to the caller's authorization "
        "URL; the reply is the only time the new secret is shown.",
    ),
    Operation(
        "listAccessKeys",
        "Query.accessKeys",
        "GET",
        "/accessKeys",
        "The caller's active access keys, without their secrets.",
    ),
    Operation(
        "createAccessKey",
        "Mutation.createAccessKey",
        "POST",
        "/accessKeys",
        "Create an access key; the reply shows the key once.",
    ),
    Operation(
        "revokeAccessKey",
        "Mutation.revokeAccessKey",
        "DELETE",
        "/accessKeys/{id}",
        "Revoke one of the caller's access keys; it stops working at once.",
    ),
    Operation(
        "retrievePredictor",
        "Query.predictor",
        "GET",
        "/predictors/{tag}",
        "A predictor by tag; a private one only for its owner.",
    ),
    Operation(
        "listPredictors",
        "User.predictors",
        "GET",
        "/users/{username}/predictors",
        "A user's predictors, ACTIVE unless a status is asked for; others see "
        "the public ones only.",
    ),
    Operation(
        "searchPredictors",
        "Query.predictors",
        "GET",
        "/predictors",
        "Public, active predictors whose tag or description holds the query.",
    ),
    Operation(
        "createPredictor",
        "Mutation.createPredictor",
        "POST",
        "/predictors",
        "Create a predictor from a notebook or .py file; it provisions in the "
        "background, from PROVISIONING to ACTIVE or INVALID.",
    ),
    Operation(
        "deletePredictor",
        "Mutation.deletePredictor",
        "DELETE",
        "/predictors/{tag}",
        "Delete one of the caller's predictors (a public one that served "
        "predictions must be archived instead).",
    ),
    Operation(
        "archivePredictor",
        "Mutation.archivePredictor",
        "POST",
        "/predictors/{tag}/archive",
        "Archive one of the caller's predictors: hidden from lists and search.",
    ),
    Operation(
        "createUploadUrl",
        "Mutation.createUploadUrl",
        "POST",
        "/uploads",
        "A signed URL to PUT a file to, without credentials; pass it back later as "
        "a notebook, media or value.",
    ),
    Operation(
        "listEnvironmentVariables",
        "User.environmentVariables",
        "GET",
        "/environmentVariables",
        "The names of the caller's environment variables; values are write-only.",
    ),
    Operation(
        "createEnvironmentVariable",
        "Mutation.createEnvironmentVariable",
        "POST",
        "/environmentVariables",
        "Set an environment variable of the caller's; predictors created afterwards "
        "get it.",
    ),
    Operation(
        "deleteEnvironmentVariable",
        "Mutation.deleteEnvironmentVariable",
        "DELETE",
        "/environmentVariables/{name}",
        "Delete an environment variable; predictors created before keep their copy.",
    ),
    Operation(
        "createPrediction",
        "Mutation.createPrediction",
        "POST",
        "/predict/{tag}",
        "Run a predictor once on the given inputs; over REST, ?stream=true streams "
        "the partial predictions of a generator predictor.",
    ),
    Operation(
        "retrievePrediction",
        "Query.prediction",
        "GET",
        "/predictions/{id}",
        "A prediction the caller made, by id.",
    ),
    Operation(
        "retrieveUsage",
        "Query.usage",
        "GET",
        "/usage",
        "A month of the caller's usage: predictions, latency and cost, in total and "
        "per predictor, caller kind and customer (GET /usage.csv lists every record).",
    ),
    Operation(
        "listAuthorizationDecisions",
        "Query.authorizationDecisions",
        "GET",
        "/user/authorizationDecisions",
        "The latest decisions of the caller's authorization URL, newest first: "
        "tag, outcome, customer, and why a refusal or failure happened.",
    ),
)

BY_NAME = {operation.name: operation for operation in OPERATIONS}
