"""The ``mailfate`` command line: thin commands over the library, one module per group of commands."""

from __future__ import annotations

from mailfate.cli.main import main

__all__ = ["main"]
