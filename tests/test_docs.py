"""Docs that tests keep honest: every setting documented, the README's commands real."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from mailfate.cli.main import build_parser
from mailfate.settings import SETTINGS

ROOT = Path(__file__).parent.parent


def test_every_setting_is_in_the_configuration_reference() -> None:
    reference = (ROOT / "docs" / "configuration.md").read_text()
    documented = set(re.findall(r"`(MAILFATE_[A-Z_]+)`", reference))
    assert documented == set(SETTINGS)


def test_every_setting_read_by_the_code_is_declared() -> None:
    """A MAILFATE_ name used anywhere in the package is one of SETTINGS (and so documented)."""
    used: set[str] = set()
    for path in (ROOT / "src" / "mailfate").rglob("*.py"):
        used.update(re.findall(r"\"(MAILFATE_[A-Z_]*[A-Z])\"", path.read_text()))
    assert used <= set(SETTINGS)


def test_readme_opens_with_the_two_commands() -> None:
    first_block = (ROOT / "README.md").read_text().split("```")[1]
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()[1:] if line.strip()]
    assert commands == ["make run", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run: ", makefile, re.M)
    assert re.search(r"^test: ", makefile, re.M)


def test_readme_commands_exist() -> None:
    """Every `mailfate X` the README shows is a real subcommand."""
    blocks = "\n".join((ROOT / "README.md").read_text().split("```")[1::2])
    shown = set(re.findall(r"^(?:\.venv/bin/)?mailfate ([a-z]+)", blocks, re.M))
    parser = build_parser()
    known = set(parser._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    assert shown
    assert shown <= known


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    return dict(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]


def _options(parser: argparse.ArgumentParser) -> set[str]:
    """Its options, and those of its actions (``quarantine replay --all``)."""
    found = {o for action in parser._actions for o in action.option_strings if o.startswith("--")} - {"--help", "--db"}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _options(sub)
    return found


def test_the_cli_page_lists_every_command_with_every_option() -> None:
    """docs/cli.md's table names each subcommand of the parser once, with all of its options and what it
    does with the database; a new command or option is not done until it is there."""
    page = (ROOT / "docs" / "cli.md").read_text()
    table = page.split("| command | what it does | database |", 1)[1].split("\n\n", 1)[0]
    documented: dict[str, tuple[set[str], str]] = {}
    for row in table.strip().splitlines()[1:]:
        synopsis, _, database = (cell.strip() for cell in row.strip("|").split(" | "))
        for usage in re.findall(r"`([^`]+)`", synopsis):
            name = usage.split()[0]
            assert name not in documented, f"{name} is in the table twice"
            documented[name] = (set(re.findall(r"--[a-z][a-z-]*", usage)) - {"--db"}, database)
    commands = _subcommands()
    assert sorted(documented) == sorted(commands)
    for name, parser in commands.items():
        options, database = documented[name]
        assert options == _options(parser), name
        assert database.split()[0] == parser.get_default("db_use"), name


def test_the_readme_names_every_command_that_only_reads() -> None:
    readme = " ".join((ROOT / "README.md").read_text().split())
    named = readme.split("Commands that only read (", 1)[1].split(")", 1)[0]
    reads = {name for name, parser in _subcommands().items() if parser.get_default("db_use") == "reads"}
    assert set(re.findall(r"`([a-z]+)`", named)) == reads


def test_the_fate_page_has_the_rules_in_their_order() -> None:
    from mailfate.core.fate import STATUS_RULES

    page = (ROOT / "docs" / "fate.md").read_text()
    table = page.split("## The rules", 1)[1].split("\n\n")[2]
    statuses = re.findall(r"^\| (\d) \| .* \| `([a-z_]+)` \|$", table, re.M)
    assert [int(n) for n, _ in statuses] == list(range(1, len(STATUS_RULES) + 1))
    assert [s for _, s in statuses] == [status.value for status, _, _ in STATUS_RULES]


def test_every_source_has_its_page() -> None:
    for name, command in [("sns-https", "mailfate setup aws"), ("sqs", "mailfate consume sqs"),
                          ("eventbridge", "aws.ses"), ("files", "mailfate ingest")]:  # fmt: skip
        assert command in (ROOT / "docs" / "sources" / f"{name}.md").read_text()


def test_relative_links_in_the_docs_resolve() -> None:
    pages = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]
    for page in pages:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.relative_to(ROOT)} links to missing {target}"
        for target in re.findall(r'src="([^":]+)"', page.read_text()):
            assert (page.parent / target).exists(), f"{page.relative_to(ROOT)} shows missing {target}"


def test_nothing_points_to_a_specification_outside_the_repository() -> None:
    """Code and docs point to the project's own docs (docs/*.md), which say what they need to."""
    pages = [ROOT / "README.md", ROOT / "Makefile", *(ROOT / "docs").rglob("*.md")]
    for folder in ("src", "tests", "bench"):
        pages += [p for p in (ROOT / folder).rglob("*") if p.suffix in (".py", ".js", ".md", ".html", ".css", ".sql")]
    found = [str(p.relative_to(ROOT)) for p in pages if re.search(r"SPEC(\.md)? section|SPEC\.md", p.read_text())]
    assert found == []


def test_every_docs_page_is_linked_from_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    for page in (ROOT / "docs").rglob("*.md"):
        assert f"({page.relative_to(ROOT)})" in readme, f"README does not link {page.relative_to(ROOT)}"


def test_the_package_namespace_is_what_all_lists_and_its_submodules() -> None:
    """``dir(mailfate)`` shows the public API, not the names its own code needed (``Iterable``,
    ``annotations``, ``Settings``)."""
    import types

    import mailfate

    public = {name for name in dir(mailfate) if not name.startswith("__")}
    modules = {name for name in public if isinstance(getattr(mailfate, name), types.ModuleType)}
    assert public - modules == set(mailfate.__all__) - {"__version__"}
    assert {"annotations", "Iterable", "Settings"} & public == set()
