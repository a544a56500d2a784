"""The command line: parse, call one library function, render. No logic lives here."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from typer.core import TyperGroup

from copcode.errors import CopcodeError

out = Console(highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False)


class _Group(TyperGroup):
    """Turns a CopcodeError anywhere below into one red message on stderr and exit code 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CopcodeError as exc:
            if (ctx.obj or {}).get("debug"):
                raise
            from rich.markup import escape

            err.print(f"[bold red]Error:[/] {escape(exc.message)}")
            raise typer.Exit(1) from None


app = typer.Typer(cls=_Group, no_args_is_help=True, add_completion=False,
                  pretty_exceptions_show_locals=False, rich_markup_mode="rich",
                  help="Qualitative coding of interview transcripts with a YAML codebook.")
codebook_app = typer.Typer(cls=_Group, no_args_is_help=True, help="Check a codebook.")
app.add_typer(codebook_app, name="codebook")


@app.callback()
def _options(
    ctx: typer.Context,
    project: Annotated[Path, typer.Option("--project", help="The project folder.")] = Path("."),
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
):
    ctx.obj = {"project": project, "debug": debug}


def _project(ctx: typer.Context):
    from copcode.project import open_project

    return open_project(ctx.obj["project"])


@app.command("code")
def code_command(ctx: typer.Context):
    """Code the transcripts: segment, suggest codes, store, write out/*.csv.  e.g. copcode code"""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from copcode.coding import code_project

    project = _project(ctx)
    with Progress(TextColumn("Coding segments"), BarColumn(), MofNCompleteColumn(),
                  console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("code", total=None)
        result = code_project(project, lambda done, total: bar.update(task, completed=done, total=total))
    out.print(f"Coded {result.transcripts} transcripts: {result.segments} participant segments, "
              f"{result.suggestions} suggested codings.")
    _print_frame(result.summary, title="Passages and participants by theme and code")
    for path in result.written:
        out.print(f"Wrote {project.relative(path)}")


@app.command("quotes")
def quotes_command(
    ctx: typer.Context,
    theme: Annotated[Optional[str], typer.Option(help="Theme id, alias or label.")] = None,
    code: Annotated[Optional[str], typer.Option(help="Only this code.")] = None,
    group: Annotated[Optional[str], typer.Option(help="Only this group, e.g. E.")] = None,
    participant: Annotated[Optional[str], typer.Option(help="Only this participant, e.g. P03.")] = None,
    status: Annotated[str, typer.Option(help="accepted, suggested or all.")] = "all",
    limit: Annotated[int, typer.Option(help="At most this many quotes (0: all).")] = 10,
    per_participant: Annotated[int, typer.Option(help="At most N quotes per participant (0: no cap).")] = 2,
    fmt: Annotated[str, typer.Option("--format", help="table, csv, md or json.")] = "table",
    out_file: Annotated[Optional[Path], typer.Option("--out", help="Write to this file.")] = None,
):
    """Show exemplar quotes for a theme, best first.  e.g. copcode quotes --theme territory"""
    from copcode.coding import project_codebook
    from copcode.store import open_store
    from copcode.tables import exemplar_quotes

    project = _project(ctx)
    codebook = project_codebook(project)
    store = open_store(project.store_path, create=False)
    try:
        frame = exemplar_quotes(store, codebook, theme, code=code, group=group,
                                participant=participant, status=status, limit=limit,
                                per_participant=per_participant)
    finally:
        store.close()
    if fmt == "table" and out_file is None:
        title = codebook.find_theme(theme).label if theme else "All themes"
        _print_quotes(frame, title)
    else:
        _emit(frame, fmt if fmt != "table" else out_file.suffix.lstrip("."), out_file)


@codebook_app.command("check")
def codebook_check(
    ctx: typer.Context,
    path: Annotated[Optional[Path], typer.Argument(help="The codebook (default: the project's).")] = None,
):
    """Validate a codebook and list every problem with its line.  e.g. copcode codebook check"""
    from copcode.codebook import load_codebook
    from copcode.coding import project_codebook
    from copcode.nlp import build_pipeline, compile_cues

    codebook = load_codebook(path) if path else project_codebook(_project(ctx))
    build_pipeline(codebook)  # spaCy checks the token patterns
    out.print(f"{codebook.path}: valid. {len(codebook.themes)} themes, {len(codebook.codes)} codes, "
              f"{len(compile_cues(codebook))} cues.")


@app.command("status")
def status_command(ctx: typer.Context):
    """Say what is loaded and coded.  e.g. copcode status"""
    from copcode.store import open_store

    project = _project(ctx)
    store = open_store(project.store_path, create=False)
    try:
        run = store.last_run()
        decisions = store.db.execute("SELECT COUNT(*) FROM decisions").fetchone()[0]
    finally:
        store.close()
    if run is None:
        out.print("Not coded yet: run `copcode code`.")
        return
    out.print(f"Last coded {run['at']} with {run['codebook']}: {run['transcripts']} transcripts, "
              f"{run['segments']} segments, {run['suggestions']} suggestions, {decisions} decisions.")


def _emit(frame, fmt: str, path: Optional[Path]) -> None:
    from copcode.export import TEXT_FORMATS, render_table, write_table

    if path is None:
        if fmt not in TEXT_FORMATS:
            raise CopcodeError(f"--format {fmt} needs a file", fix="add --out FILE.")
        typer.echo(render_table(frame, fmt), nl=False)
    else:
        write_table(frame, path, fmt)
        err.print(f"Wrote {len(frame)} rows to {path}")


def _print_frame(frame, title: str) -> None:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in frame.columns:
        table.add_column(str(column), justify="right" if column not in ("theme", "code") else "left")
    for row in frame.itertuples(index=False):
        table.add_row(*map(str, row))
    out.print(table)


def _print_quotes(frame, title: str) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_lines=True, expand=True)
    table.add_column("#", justify="right", width=3)
    table.add_column("quote", ratio=1)
    table.add_column("code")
    table.add_column("score", justify="right")
    table.add_column("status")
    for i, row in enumerate(frame.itertuples(index=False), 1):
        quote = " ".join(row.quote.split())
        table.add_row(str(i), f"“{escape(quote)}” [bold]({row.participant})[/]\n[dim]{row.segment}[/]",
                      row.code, f"{row.score:.2f}", row.status)
    if not len(frame):
        out.print(f"No quotes for {title}.")
        return
    out.print(table)


def main() -> None:
    app()
