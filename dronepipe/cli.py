"""The ``dronepipe`` command line: a thin click layer over the library.

Each command parses its options, builds a config, calls one library function and
prints what it returned. Errors the user can cause (``DronepipeError``) are shown as
one line on stderr with exit code 1, never as a traceback. Library warnings
(``DronepipeWarning``) are shown as ``warning: ...`` lines unless ``--quiet``.
"""

from __future__ import annotations

import json
import logging
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from dronepipe import __version__
from dronepipe.errors import DronepipeError

log = logging.getLogger("dronepipe")


class _OneLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        if record.name == "py.warnings":  # "path:line: DronepipeWarning: text\n  code"
            msg = msg.strip().splitlines()[0]
            msg = msg.split("Warning: ", 1)[-1]
        return f"{record.levelname.lower()}: {msg}"


def _configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.ERROR if quiet else (logging.DEBUG if verbose > 1 else
                                         logging.INFO if verbose == 1 else logging.WARNING)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLineFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)
    warnings.simplefilter("default")


class _Group(click.Group):
    """Turns DronepipeError into a one-line message and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DronepipeError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors; no progress bars.")
@click.version_option(__version__, prog_name="dronepipe")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """dronepipe: drone telemetry, thermal frames, orthomosaics and hotspots."""
    _configure_logging(verbose, quiet)
    ctx.obj = {"quiet": quiet}


def is_quiet(ctx: click.Context) -> bool:
    """Whether the user asked for --quiet (no progress bars)."""
    root = ctx.find_root()
    return bool(root.obj and root.obj.get("quiet"))


@contextmanager
def progress_callback(ctx: click.Context) -> Iterator[Callable[[str, int, int], None]]:
    """A progress callback ``(stage, done, total)`` drawn as one click progress bar per stage."""
    state: dict[str, Any] = {"stage": None, "bar": None, "done": 0}
    quiet = is_quiet(ctx)

    def close() -> None:
        if state["bar"] is not None:
            state["bar"].render_finish()
            state["bar"] = None

    def report(stage: str, done: int, total: int) -> None:
        if quiet:
            return
        if stage != state["stage"]:
            close()
            state.update(stage=stage, done=0,
                         bar=click.progressbar(length=max(total, 1), label=f"{stage:<14}",
                                               file=sys.stderr, show_pos=True))
            state["bar"].render_progress()
        bar = state["bar"]
        bar.update(max(0, done - state["done"]))
        state["done"] = done

    try:
        yield report
    finally:
        close()


def echo_json(obj: Any) -> None:
    """Print one JSON object on stdout."""
    click.echo(json.dumps(obj, indent=2, sort_keys=False, default=str))


def existing_path(**kwargs: Any) -> click.Path:
    """A click path that must exist, returned as ``pathlib.Path``."""
    return click.Path(exists=True, path_type=Path, **kwargs)


# --- commands -------------------------------------------------------------------------
# Each command is a few lines: parse, build the config, call one library function.
# Commands are added below this line, one block each.


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="dronepipe")


if __name__ == "__main__":  # pragma: no cover
    main()
