"""Roles: MAILFATE_API_TOKENS read and admin tokens, against a real server on both backends. A read token
reads and is refused every write route (listed from the OpenAPI document, so a new one is covered);
secrets never reach the log."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest

from mailfate.core.roles import ApiToken, Scope, TokenListError, identify, parse_tokens
from mailfate.errors import UsageError
from mailfate.settings import Settings
from mailfate.web.openapi import document
from mailfate.web.openapi_audit import READING_WRITES

from .support import Server, request

Start = Callable[..., Server]
ADMIN_SECRET = "admin-secret-0123456789"
READER_SECRET = "reader-secret-0123456789"
DEFAULT_SECRET = "default-secret-0123456789"
TOKENS = {
    "MAILFATE_API_TOKEN": DEFAULT_SECRET,
    "MAILFATE_API_TOKENS": f"ops:admin:{ADMIN_SECRET}, grafana:read:{READER_SECRET}",
}
#: Values for the path parameters of the write routes.
PATH_VALUES = {"address": "someone@example.com", "item_id": "1", "message_id": "m-1", "seq": "1", "url": "x"}


class TestTokenList:
    def test_names_scopes_and_secrets(self) -> None:
        tokens = parse_tokens("ops:admin:s3cret-one, grafana:READ:s3cret:two,")
        assert tokens == (ApiToken("ops", Scope.ADMIN, "s3cret-one"), ApiToken("grafana", Scope.READ, "s3cret:two"))
        assert "s3cret" not in repr(tokens)

    @pytest.mark.parametrize(
        ("raw", "says"),
        [
            ("ops:admin", "must be name:scope:token"),
            (":admin:x", "must be name:scope:token"),
            ("ops::x", "must be name:scope:token"),
            ("ops:write:secret-x", "entry 1: scope must be read or admin (the second part)"),
            ("a:read:same-secret,b:admin:same-secret", "tokens 'a' and 'b' have the same secret"),
            ("a:read:one-secret,a:admin:two-secret", "the name 'a' is given to more than one token"),
            ("a b:read:x", "a name is letters"),
        ],
    )
    def test_malformed_lists_are_refused_without_showing_a_secret(self, raw: str, says: str) -> None:
        with pytest.raises(TokenListError, match=re.escape(says)) as caught:
            parse_tokens(raw)
        assert "secret" not in str(caught.value).replace("same secret", "")

    @pytest.mark.parametrize("raw", ["s3cr3tT0kenValue", "ops:s3cr3tT0kenValue:admin", "s3cr3tT0kenValue:admin"])
    def test_a_malformed_entry_is_named_by_position_only(self, raw: str) -> None:
        # A bare token, or parts in the wrong order: the message must not carry what may be the secret.
        with pytest.raises(TokenListError, match=r"^entry 2\b") as caught:
            parse_tokens(f"ok:read:fine-secret, {raw}")
        assert "s3cr3t" not in str(caught.value).lower()

    def test_settings_put_the_single_token_first_as_default_admin(self) -> None:
        settings = Settings.from_env(TOKENS)
        assert [(t.name, t.scope) for t in settings.tokens] == [
            ("default", Scope.ADMIN), ("ops", Scope.ADMIN), ("grafana", Scope.READ)
        ]  # fmt: skip
        assert Settings.from_env({}).tokens == ()

    @pytest.mark.parametrize(
        "env",
        [
            {"MAILFATE_API_TOKEN": "one-secret", "MAILFATE_API_TOKENS": "default:read:other-secret"},
            {"MAILFATE_API_TOKEN": "one-secret", "MAILFATE_API_TOKENS": "ops:read:one-secret"},
            {"MAILFATE_API_TOKENS": "ops:superuser:secret-x"},
        ],
    )
    def test_settings_errors_are_one_line_naming_the_variable(self, env: dict[str, str]) -> None:
        with pytest.raises(UsageError, match=r"^MAILFATE_API_TOKENS: ") as caught:
            Settings.from_env(env)
        assert "\n" not in str(caught.value)
        assert "one-secret" not in str(caught.value)
        assert "other-secret" not in str(caught.value)

    def test_identify_finds_the_token_and_nothing_else(self) -> None:
        tokens = parse_tokens("a:read:first-secret,b:admin:second-secret")
        assert identify(tokens, "second-secret") == tokens[1]
        assert identify(tokens, "first-secret") == tokens[0]
        assert identify(tokens, "first-secre") is None
        assert identify(tokens, "") is None
        assert identify((), "anything") is None


def call(server: Server, method: str, path: str, secret: str | None, body: Any = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    response = request(server.port, method, path, data, headers)
    json_body = response.body and response.headers.get("content-type", "").startswith("application/json")
    return response.status, response.json() if json_body else response.body


def write_operations() -> list[tuple[str, str]]:
    """Every operation of the API that is not a GET, from the OpenAPI document: a route added later is
    in this list without anyone remembering to add it."""
    return sorted(
        (method.upper(), path)
        for path, operations in document()["paths"].items()
        for method in operations
        if method != "get" and path.startswith("/api/") and (method, path) not in READING_WRITES
    )


def fill(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: quote(PATH_VALUES[m.group(1)], safe=""), path)


@pytest.mark.server
class TestScopesOverHttp:
    def test_read_token_is_refused_every_write_route_and_admin_passes(self, servers: Start, store_url: str) -> None:
        server = servers(TOKENS, db=store_url)
        operations = write_operations()
        assert ("PUT", "/api/suppressions/{address}") in operations
        assert ("DELETE", "/api/suppressions/{address}") in operations
        for method, template in operations:
            path = fill(template)
            status, body = call(server, method, path, READER_SECRET)
            assert (status, body["status"]) == (403, 403), (method, template)
            assert "grafana" in body["error"]
            assert "admin token" in body["error"]
            assert call(server, method, path, None)[0] == 401, (method, template)
            assert call(server, method, path, "not-a-token")[0] == 401, (method, template)
        # The read token changed nothing: the address was never suppressed by the refused PUT.
        assert call(server, "GET", "/api/check/someone%40example.com", READER_SECRET)[1]["allowed"] is True
        for method, template in operations:
            for secret in (ADMIN_SECRET, DEFAULT_SECRET):
                status, _ = call(server, method, fill(template), secret)
                assert status not in (401, 403), (method, template, status)

    def test_read_token_reads(self, servers: Start, store_url: str) -> None:
        server = servers(TOKENS, db=store_url)
        reads = [
            path for path, operations in document()["paths"].items()
            if "get" in operations and path.startswith("/api/") and "{" not in path
        ]  # fmt: skip
        assert "/api/audit" in reads
        assert "/api/suppressions" in reads
        for path in reads:
            assert call(server, "GET", path, READER_SECRET)[0] == 200, path
        assert call(server, "GET", "/metrics", READER_SECRET)[0] == 200
        assert call(server, "GET", "/metrics", None)[0] == 401
        status, found = call(server, "POST", "/api/check", READER_SECRET, ["a@example.com"])
        assert status == 200
        assert found[0]["allowed"] is True

    def test_whoami(self, servers: Start) -> None:
        server = servers(TOKENS)
        assert call(server, "GET", "/api/whoami", READER_SECRET) == (200, {"name": "grafana", "scope": "read"})
        assert call(server, "GET", "/api/whoami", ADMIN_SECRET) == (200, {"name": "ops", "scope": "admin"})
        assert call(server, "GET", "/api/whoami", DEFAULT_SECRET) == (200, {"name": "default", "scope": "admin"})
        assert call(server, "GET", "/api/whoami", None)[0] == 401

    def test_without_tokens_everyone_is_an_anonymous_admin(self, servers: Start) -> None:
        server = servers()
        assert call(server, "GET", "/api/whoami", None) == (200, {"name": "anonymous", "scope": "admin"})

    def test_secrets_never_reach_the_log(self, servers: Start) -> None:
        server = servers({**TOKENS, "MAILFATE_LOG_LEVEL": "DEBUG"})
        for secret in (READER_SECRET, ADMIN_SECRET, "wrong-" + ADMIN_SECRET):
            call(server, "GET", "/api/messages", secret)
            call(server, "PUT", "/api/suppressions/x%40example.com", secret, {"reason": "test"})
            call(server, "GET", "/api/messages?nope=1", secret)  # an error path
            call(server, "GET", "/api/audit?cursor=garbage", secret)
        server.stop()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and "mailfate.stopped" not in server.log.read_text():
            time.sleep(0.05)
        text = server.log.read_text()
        assert "mailfate.ready" in text
        for secret in (READER_SECRET, ADMIN_SECRET, DEFAULT_SECRET):
            assert secret not in text


def test_openapi_says_which_operations_need_the_admin_role() -> None:
    paths = document()["paths"]
    for method, path in write_operations():
        operation = paths[path][method.lower()]
        assert operation["security"] == [{"bearer": ["admin"]}]
        assert "403" in operation["responses"]
    assert {("post", "/api/check")} == READING_WRITES  # widening it is a decision, not an accident
    assert "security" not in paths["/api/check"]["post"]


@pytest.mark.server
def test_serve_refuses_public_address_with_neither_token(tmp_path: Any) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    exe = Path(sys.executable).with_name("mailfate")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILFATE_")}
    args = [str(exe), "serve", "--host", "0.0.0.0", "--port", "1", "--db", f"sqlite:///{tmp_path / 'x.db'}"]  # noqa: S104
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 2
    assert "MAILFATE_API_TOKEN or MAILFATE_API_TOKENS" in done.stderr
    bad = subprocess.run(args, env={**env, "MAILFATE_API_TOKENS": "ops:root:secret-value"}, capture_output=True,
                         text=True, timeout=30, check=False)  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1
    assert "scope must be read or admin" in bad.stderr
    assert "secret-value" not in bad.stderr
