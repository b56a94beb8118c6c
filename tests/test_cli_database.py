"""The command line and the database it is pointed at (docs/cli.md): a command that only reads creates
and upgrades nothing, a database that cannot be reached is one line and exit 1, ``--db`` goes before or
after the command."""

from __future__ import annotations

import shlex
import sqlite3
import subprocess
import time
from pathlib import Path

import psycopg
import pytest

from mailfate.cli import main
from mailfate.store import open_store
from mailfate.store.migrate import migrations, statements

from .support import EXE, at_terminal, free_port

READ_COMMANDS = [
    ["status", "some-message-id"],
    ["recipient", "jane@example.com"],
    ["stats"],
    ["suppressions"],
    ["quarantine"],
    ["changes"],
]
#: Commands that change records already there: pointed at a database that is not mailfate's, they refuse
#: it (a typo in --db must not become a new, empty database that "replayed 0 records").
CHANGE_COMMANDS = [
    ["quarantine", "replay", "--all"],
    ["quarantine", "dismiss", "1"],
    ["webhooks", "redeliver", "http://127.0.0.1:9/hook", "--all"],
]


def tables(url: str) -> set[str]:
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:
            return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")
        return {row[0] for row in rows}


def execute(url: str, *sql: str) -> None:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            for statement in sql:
                conn.execute(statement)
        return
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in sql:
            conn.execute(statement)


def not_mailfates(url: str, content: str) -> set[str]:
    """Make the database at ``url`` empty or another application's; return its tables."""
    execute(url, "CREATE TABLE customers (id INTEGER PRIMARY KEY)")
    if content == "empty":
        execute(url, "DROP TABLE customers")
    return tables(url)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("content", ["empty", "another application's"])
@pytest.mark.parametrize("argv", READ_COMMANDS, ids=lambda a: a[0])
def test_a_read_command_creates_nothing_in_a_database_that_is_not_mailfates(
    store_url: str, content: str, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    before = not_mailfates(store_url, content)
    code, out, err = run(capsys, *argv, "--db", store_url)
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert "is not a mailfate database" in err
    assert err.endswith(f"mailfate migrate --db {shlex.quote(store_url)}\n")  # the URL given, ready to paste
    assert tables(store_url) == before


def test_a_read_command_does_not_create_a_missing_sqlite_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "stats", "--db", f"sqlite:///{tmp_path / 'typo.db'}")
    assert code == 1
    assert err == f"mailfate: no mailfate database at {tmp_path / 'typo.db'} (no such file), " + err.split(", ", 1)[1]
    assert err.endswith(f"create it with: mailfate migrate --db sqlite:///{tmp_path / 'typo.db'}\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", CHANGE_COMMANDS, ids=lambda a: "-".join(a[:2]))
def test_a_change_command_does_not_create_a_missing_sqlite_file(
    tmp_path: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'typo.db'}"
    code, out, err = run(capsys, *argv, "--db", url)
    assert (code, out) == (1, "")
    assert err == (
        f"mailfate: no mailfate database at {tmp_path / 'typo.db'} (no such file), and a command that changes "
        f"what is stored creates none: check --db, or create it with: mailfate migrate --db {url}\n"
    )
    assert list(tmp_path.iterdir()) == []  # neither the file nor its writer lock


@pytest.mark.parametrize("content", ["empty", "another application's"])
@pytest.mark.parametrize("argv", CHANGE_COMMANDS, ids=lambda a: "-".join(a[:2]))
def test_a_change_command_creates_nothing_in_a_database_that_is_not_mailfates(
    store_url: str, content: str, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    before = not_mailfates(store_url, content)
    code, out, err = run(capsys, *argv, "--db", store_url)
    assert (code, out) == (1, "")
    assert err.count("\n") == 1
    assert "is not a mailfate database, and a command that changes what is stored creates nothing in it" in err
    assert err.endswith(f"mailfate migrate --db {shlex.quote(store_url)}\n")
    assert tables(store_url) == before


@pytest.mark.parametrize("argv", CHANGE_COMMANDS, ids=lambda a: "-".join(a[:2]))
def test_a_change_command_upgrades_an_older_mailfate_schema(
    store_url: str, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    _older_schema(store_url, behind=1)
    code, _, err = run(capsys, *argv, "--db", store_url)
    assert "Traceback" not in err
    assert "not a mailfate database" not in err
    assert code in (0, 1)  # nothing to replay, dismiss or redeliver there: said as such
    assert count(store_url, "schema_migrations") == len(migrations("sqlite" if "sqlite" in store_url else "postgres"))


def test_the_library_refuses_to_create_when_asked(tmp_path: Path) -> None:
    from mailfate.errors import SchemaError

    with pytest.raises(SchemaError, match="no such file"):
        open_store(f"sqlite:///{tmp_path / 'm.db'}", create=False)
    assert list(tmp_path.iterdir()) == []
    open_store(f"sqlite:///{tmp_path / 'm.db'}").close()
    open_store(f"sqlite:///{tmp_path / 'm.db'}", create=False).close()


def test_a_file_that_is_not_sqlite_is_said_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("shopping list\n" * 100)
    code, _, err = run(capsys, "quarantine", "--db", f"sqlite:///{notes}")
    assert code == 1
    assert "is not a mailfate database: file is not a database" in err
    assert notes.read_text() == "shopping list\n" * 100


def test_a_write_command_creates_the_schema_and_reads_then_work(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "suppress", "jane@example.com", "--db", store_url)[0] == 0
    assert "schema_migrations" in tables(store_url)
    code, out, _ = run(capsys, "suppressions", "--db", store_url)
    assert code == 0
    assert "jane@example.com" in out


def _older_schema(url: str, behind: int) -> str:
    """mailfate's schema as an older release left it: all but the last ``behind`` migrations."""
    dialect = "sqlite" if url.startswith("sqlite") else "postgres"
    shipped = migrations(dialect)
    for _, script in shipped[:-behind]:
        execute(url, *statements(script))
    execute(url, "CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at TEXT)")
    for name, _ in shipped[:-behind]:
        execute(url, f"INSERT INTO schema_migrations VALUES ('{name}', 'then')")
    return shipped[-behind][0]


def test_an_older_schema_is_not_upgraded_by_a_read_but_by_migrate(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    next_one = _older_schema(store_url, behind=1)
    before = tables(store_url)
    code, _, err = run(capsys, "stats", "--db", store_url)
    assert code == 1
    assert f"older mailfate schema (1 migration behind, next {next_one})" in err
    assert f"run mailfate migrate --db {shlex.quote(store_url)} (or any command that writes)" in err
    assert tables(store_url) == before
    code, out, _ = run(capsys, "migrate", "--db", store_url)
    assert code == 0
    assert "up to date" in out
    assert tables(store_url) >= before
    assert count(store_url, "schema_migrations") == len(migrations("sqlite" if "sqlite" in store_url else "postgres"))
    assert run(capsys, "stats", "--db", store_url)[0] == 0


def test_a_write_command_refuses_another_tools_migrations_table(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    execute(
        store_url,
        "CREATE TABLE schema_migrations (version TEXT PRIMARY KEY)",
        "INSERT INTO schema_migrations VALUES ('20240101120000')",  # as Rails keeps it
    )
    code, _, err = run(capsys, "suppress", "jane@example.com", "--db", store_url)
    assert code == 1
    assert "not a mailfate database: its schema_migrations table is another tool's" in err
    assert tables(store_url) == {"schema_migrations"}


def test_the_library_opens_read_only_the_same_way(store_url: str) -> None:
    from mailfate.errors import SchemaError

    with pytest.raises(SchemaError):
        open_store(store_url, migrate=False)
    open_store(store_url).close()
    store = open_store(store_url, migrate=False)
    try:
        assert store.message("nothing") is None
    finally:
        store.close()


@pytest.mark.parametrize("where", ["before", "after"])
def test_db_goes_before_or_after_the_command(tmp_path: Path, where: str, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    assert run(capsys, "suppress", "jane@example.com", "--db", url)[0] == 0
    lookup = ["recipient", "jane@example.com"]
    argv = ["--db", url, *lookup] if where == "before" else [*lookup, "--db", url]
    code, out, _ = run(capsys, *argv)
    assert code == 0
    assert "jane@example.com  suppressed (manual)" in out


def test_db_after_the_command_wins_over_db_before(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    used, other = f"sqlite:///{tmp_path / 'used.db'}", f"sqlite:///{tmp_path / 'other.db'}"
    assert run(capsys, "--db", other, "suppress", "jane@example.com", "--db", used)[0] == 0
    assert (tmp_path / "used.db").exists()
    assert not (tmp_path / "other.db").exists()


# -- PostgreSQL that cannot be used: one line, at once ---------------------------------------------


def _unusable_urls() -> list[tuple[str, str]]:
    from .conftest import POSTGRES_URL

    base = POSTGRES_URL.split("?")[0]
    host = base.split("@", 1)[1].split("/", 1)[0]
    return [
        (f"postgresql://postgres@127.0.0.1:{free_port()}/test", "Connection refused"),
        (f"{base.rsplit('/', 1)[0]}/mailfate_no_such_db", 'database "mailfate_no_such_db" does not exist'),
        (f"postgresql://mailfate_no_such_role@{host}/test", 'role "mailfate_no_such_role" does not exist'),
    ]


@pytest.mark.postgres
@pytest.mark.parametrize("argv", [["status", "x"], ["ingest", "-"], ["migrate"]], ids=lambda a: a[0])
def test_postgres_that_cannot_be_used_is_one_line_with_the_servers_reason(argv: list[str]) -> None:
    from .conftest import postgres_schema

    with postgres_schema():  # fails (or skips) when PostgreSQL itself is not there
        pass
    for url, reason in _unusable_urls():
        started = time.monotonic()
        done = subprocess.run(
            [EXE, *argv, "--db", url], input="", capture_output=True, text=True, timeout=60, check=False
        )
        took = time.monotonic() - started
        assert done.returncode == 1, done.stderr
        assert done.stderr.count("\n") == 1, done.stderr  # no pool warnings, no traceback
        assert done.stderr.startswith("mailfate: storage error: cannot connect to PostgreSQL: ")
        assert reason in done.stderr
        assert took < 9, f"took {took:.1f} s: waited for the pool instead of failing at once"


@pytest.mark.postgres
@pytest.mark.parametrize("workers", [1, 2])
def test_serve_with_postgres_that_cannot_be_reached_exits_1(workers: int) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/test"
    argv = [EXE, "serve", "--port", str(free_port()), "--workers", str(workers), "--db", url]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("mailfate: storage error: cannot connect to PostgreSQL: ")
    assert "Connection refused" in last
    assert "Traceback" not in done.stderr


# -- prune: a recent cut-off is confirmed first ------------------------------------------------------


def count(url: str, table: str) -> int:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    with psycopg.connect(url) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        assert row is not None
        return int(row[0])


def prune(url: str, *argv: str, answer: bytes | None = None) -> tuple[int, str, str]:
    """``mailfate prune`` as a user runs it: without a terminal, or (``answer``) typing at one."""
    if answer is None:
        done = subprocess.run([EXE, "prune", *argv, "--db", url], stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=60, check=False)  # fmt: skip
        return done.returncode, done.stdout, done.stderr
    return at_terminal(["prune", *argv, "--db", url], answer)


def test_prune_asks_at_a_terminal_and_proceeds_without_one(store_url: str, tmp_path: Path) -> None:
    """A recent cut-off: a person at a terminal is asked; a script (no terminal) is obeyed, and told
    what was deleted; an old cut-off is never asked about."""
    path = tmp_path / "some.jsonl"
    path.write_text(
        '{"eventType": "Send", "mail": {"timestamp": "2026-11-20T10:00:00.000Z", "messageId": "m-1", '
        '"source": "a@example.com", "destination": ["b@example.com"]}, "send": {}}\nnot json\n'
    )

    def load() -> tuple[int, int]:
        subprocess.run([EXE, "ingest", str(path), "--db", store_url], capture_output=True, timeout=60, check=False)
        return count(store_url, "records"), count(store_url, "quarantine")

    assert load() == (1, 1)
    code, _, err = prune(store_url, "--older-than", "0.5", answer=b"n\n")
    assert code == 1
    assert "Delete them? [y/N]" in err
    assert "nothing deleted" in err
    assert (count(store_url, "records"), count(store_url, "quarantine")) == (1, 1)

    code, out, _ = prune(store_url, "--older-than", "30")  # an old cut-off: done without asking
    assert (code, out.split(" received")[0]) == (0, "deleted 0 raw records and 0 quarantined ones")
    assert (count(store_url, "records"), count(store_url, "quarantine")) == (1, 1)

    code, out, err = prune(store_url, "--older-than", "0")  # no terminal, no --yes: as a contract test runs it
    assert (code, err) == (0, "")
    assert out.startswith("deleted 1 raw record and 1 quarantined one received before ")
    assert (count(store_url, "records"), count(store_url, "quarantine")) == (0, 0)

    assert load() == (1, 1)
    code, out, _ = prune(store_url, "--older-than", "0", answer=b"y\n")
    assert code == 0
    assert out.startswith("deleted 1 raw record and 1 quarantined one")
    assert (count(store_url, "records"), count(store_url, "quarantine")) == (0, 0)


def test_prune_yes_confirms_without_a_terminal(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "suppress", "jane@example.com", "--db", store_url)[0] == 0
    code, out, _ = run(capsys, "prune", "--older-than", "0", "--yes", "--db", store_url)
    assert code == 0
    assert out.startswith("deleted 0 raw records")


@pytest.mark.parametrize("days", ["-1", "nan", "inf", "1e9"])
def test_prune_refuses_impossible_cut_offs(days: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "prune", "--older-than", days, "--yes", "--db", "sqlite:///never-opened.db")
    assert code == 2
    assert "--older-than must be" in err
