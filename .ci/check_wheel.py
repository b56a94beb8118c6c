"""CI: the wheel that ``python -m build`` makes is complete and works on its own.

Builds the wheel, checks that it carries every migration, static file and sample of the source tree,
installs it into a fresh virtual environment (no source tree on its path), and from there: runs the
demo, migrates a SQLite file and a fresh PostgreSQL schema, loads the demo into the SQLite file, serves
it on 127.0.0.1 and fetches the dashboard, one of its scripts and the stats the dashboard shows.
Every process started is stopped by its PID; every wait is bounded.

    .venv/bin/python .ci/check_wheel.py      (.ci/run runs it after the tests)
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "mailfate"
POSTGRES_URL = os.environ.get("MAILFATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def step(what: str) -> None:
    print(f"== wheel: {what}", flush=True)


def run(*argv: str | Path, cwd: Path | None = None, timeout: float = 600) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAILFATE_", "PYTHONPATH", "VIRTUAL_ENV"))}
    done = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"wheel check failed: {' '.join(map(str, argv))} exited {done.returncode}\n{done.stdout}{done.stderr}")
    return done.stdout


def shipped_files() -> set[str]:
    """What the package must carry besides Python modules: migrations, the dashboard, samples."""
    wanted = set()
    for folder in ("store/migrations", "web/static", "samples"):
        for path in (PACKAGE / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                wanted.add(f"mailfate/{path.relative_to(PACKAGE)}")
    return wanted


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def get(port: int, path: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
        return answer.status, answer.read()


def serve(exe: Path, db: str, cwd: Path) -> None:
    port = free_port()
    log = cwd / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen([str(exe), "serve", "--port", str(port), "--db", db], cwd=cwd, stdout=out,
                                   stderr=out, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                sys.exit(f"wheel check failed: serve exited {process.returncode}\n{log.read_text()}")
            try:
                if get(port, "/healthz")[0] == 200:
                    break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit(f"wheel check failed: serve did not answer in 30 s\n{log.read_text()}")
                time.sleep(0.1)
        status, page = get(port, "/")
        scripts = [part.split('"', 1)[0] for part in page.decode().split('src="')[1:]]
        assert status == 200, "the dashboard page"
        assert b"mailfate" in page, "the dashboard page"
        assert scripts, "the dashboard loads its scripts"
        for script in scripts:
            assert get(port, script)[0] == 200, f"the dashboard's {script}"
        stats = json.loads(get(port, "/api/stats")[1])
        assert stats["totals"]["sent"] > 0, "the demo is inside the dashboard's window"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def postgres_schema_url(python: Path) -> tuple[str, str]:
    name = f"mailfate_wheel_{uuid.uuid4().hex[:12]}"
    script = f"import psycopg; psycopg.connect({POSTGRES_URL!r}, autocommit=True).execute('CREATE SCHEMA {name}')"
    run(python, "-c", script)
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}options=-csearch_path%3D{name}", name


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="mailfate-wheel-") as folder:
        work = Path(folder)
        step("python -m build --wheel")
        run(sys.executable, "-m", "build", "--wheel", "--outdir", work / "dist", ROOT)
        (wheel,) = (work / "dist").glob("mailfate-*.whl")
        missing = shipped_files() - set(zipfile.ZipFile(wheel).namelist())
        if missing:
            sys.exit(f"wheel check failed: {wheel.name} lacks {sorted(missing)}")
        step(f"{wheel.name} carries {len(shipped_files())} migrations, static files and samples")

        step("install into a fresh virtual environment")
        run(sys.executable, "-m", "venv", work / "venv")
        python, exe = work / "venv" / "bin" / "python", work / "venv" / "bin" / "mailfate"
        run(python, "-m", "pip", "install", "--quiet", wheel)
        elsewhere = work / "elsewhere"  # no source tree around: only the installed wheel is importable
        elsewhere.mkdir()
        where = run(
            python, "-c", "import mailfate, pathlib; print(pathlib.Path(mailfate.__file__).parent)", cwd=elsewhere
        )
        assert str(work / "venv") in where, f"mailfate imported from {where.strip()}, not the wheel"

        step("mailfate demo")
        assert "demo-late-hard-bounce  bounced" in run(exe, "demo", cwd=elsewhere)

        step("mailfate migrate on SQLite and PostgreSQL")
        sqlite_url = f"sqlite:///{elsewhere / 'mailfate.db'}"
        assert "up to date" in run(exe, "migrate", "--db", sqlite_url, cwd=elsewhere)
        pg_url, schema = postgres_schema_url(python)
        try:
            assert "up to date" in run(exe, "migrate", "--db", pg_url, cwd=elsewhere)
            run(exe, "stats", "--json", "--db", pg_url, cwd=elsewhere)  # a read finds the migrated schema
        finally:
            drop = f"DROP SCHEMA {schema} CASCADE"
            run(python, "-c", f"import psycopg; psycopg.connect({POSTGRES_URL!r}, autocommit=True).execute({drop!r})")

        step("mailfate demo --db, then serve the dashboard")
        run(exe, "demo", "--db", sqlite_url, cwd=elsewhere)
        serve(exe, sqlite_url, elsewhere)
        step("ok")


if __name__ == "__main__":
    main()
