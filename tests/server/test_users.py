from __future__ import annotations

import httpx

from tests.conftest import Account, MakeAccount

USER_QUERY = "{ user { username name ... on User { email spendLimit } } }"


async def graphql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, object] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, object]:
    response = await client.post(
        "/graph", json={"query": query, "variables": variables}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def test_rest_user_returns_own_profile(
    client: httpx.AsyncClient, ada: Account
) -> None:
    response = await client.get("/user", headers=ada.headers)

    assert response.status_code == 200
    profile = response.json()
    assert profile["username"] == "ada"
    assert profile["email"] == "ada@example.com"
    assert profile["name"] == "Ada Lovelace"
    assert profile["created"].endswith("Z")


async def test_basic_auth_accepts_empty_password(
    client: httpx.AsyncClient, ada: Account
) -> None:
    response = await client.get("/user", auth=(ada.key, ""))

    assert response.json()["username"] == "ada"


async def test_anonymous_rest_user_is_401_with_challenge(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/user")

    assert response.status_code == 401
    assert "Bearer" in response.headers["www-authenticate"]
    assert "access key" in response.json()["error"]


async def test_graphql_user_null_when_anonymous_or_bad_key(
    client: httpx.AsyncClient, ada: Account
) -> None:
    anonymous = await graphql(client, USER_QUERY)
    wrong = await graphql(client, USER_QUERY, headers={"Authorization": "Bearer nope"})
    placeholder = await graphql(
        client, USER_QUERY, headers={"Authorization": "Bearer None"}
    )

    assert anonymous == wrong == placeholder == {"data": {"user": None}}


async def test_public_profile_hides_email_from_others(
    client: httpx.AsyncClient, ada: Account, make_account: MakeAccount
) -> None:
    bob = await make_account("bob", email="bob@example.com")

    seen_by_ada = await client.get("/users/bob", headers=ada.headers)
    seen_by_bob = await client.get("/users/bob", headers=bob.headers)
    seen_anonymously = await client.get("/users/bob")

    assert seen_by_ada.json()["email"] is None
    assert seen_by_bob.json()["email"] == "bob@example.com"
    assert seen_anonymously.json()["username"] == "bob"
    assert seen_anonymously.json()["email"] is None


async def test_unknown_user_is_404_on_rest_and_null_on_graphql(
    client: httpx.AsyncClient,
) -> None:
    rest = await client.get("/users/nobody")
    body = await graphql(
        client,
        "query ($input: UserInput) { user(input: $input) { username } }",
        {"input": {"username": "nobody"}},
    )

    assert rest.status_code == 404
    assert "nobody" in rest.json()["error"]
    assert body == {"data": {"user": None}}


async def test_update_user_sets_and_clears_fields(
    client: httpx.AsyncClient, ada: Account
) -> None:
    await client.patch(
        "/user",
        json={"bio": "Analyst", "website": "https://ada.dev", "spendLimit": 25.5},
        headers=ada.headers,
    )
    response = await client.patch("/user", json={"name": None}, headers=ada.headers)

    profile = response.json()
    assert response.status_code == 200
    assert profile["name"] is None
    assert profile["bio"] == "Analyst"
    assert profile["website"] == "https://ada.dev"
    assert profile["spendLimit"] == 25.5


async def test_update_user_over_graphql_uses_alias(
    client: httpx.AsyncClient, ada: Account
) -> None:
    body = await graphql(
        client,
        "mutation ($input: UpdateUserInput!) { user: updateUser(input: $input) "
        "{ username github } }",
        {"input": {"github": "ada-l"}},
        headers=ada.headers,
    )

    assert body == {"data": {"user": {"username": "ada", "github": "ada-l"}}}


async def test_update_user_rejects_bad_fields_by_name(
    client: httpx.AsyncClient, ada: Account
) -> None:
    response = await client.patch(
        "/user",
        json={
            "website": "ftp://x",
            "github": "@ada",
            "spendLimit": -1,
            "colour": "red",
        },
        headers=ada.headers,
    )

    message = response.json()["error"]
    assert response.status_code == 400
    for field in ("website", "github", "spendLimit", "colour"):
        assert f"{field}:" in message


async def test_update_user_needs_a_caller(client: httpx.AsyncClient) -> None:
    rest = await client.patch("/user", json={"bio": "x"})
    body = await graphql(
        client, 'mutation { updateUser(input: {bio: "x"}) { username } }'
    )

    assert rest.status_code == 401
    errors = body["errors"]
    assert isinstance(errors, list)
    assert errors[0]["extensions"]["status"] == 401


async def test_usernames_are_validated(app: object, make_account: MakeAccount) -> None:
    import pytest

    for bad in ("Ada", "-ada", "ada-", "a" * 40, "ad a", ""):
        with pytest.raises(ValueError, match="not a valid username"):
            await make_account(bad)
