"""The command line: parse, call one library function, render. No logic lives here."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from typer.core import TyperGroup, TyperOption

from copcode.errors import CopcodeError
from copcode.safetext import visible

# emoji=False: ":thumbs_up:" in a user's text is shown as written (markup is escaped by _escape)
out = Console(highlight=False, soft_wrap=False, emoji=False)
err = Console(stderr=True, highlight=False, emoji=False)


GLOBAL_FLAGS = ("--debug", "--no-redact")
GLOBAL_VALUED = ("--project",)


def global_options_first(args: list[str]) -> list[str]:
    """The arguments with copcode's global options moved before the command name, so that
    `copcode quotes --project study` works as well as `copcode --project study quotes`.
    Nothing after `--` is moved."""
    front, rest, i = [], [], 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest += args[i:]
            break
        if arg in GLOBAL_FLAGS or arg.startswith(tuple(f"{o}=" for o in GLOBAL_VALUED)):
            front.append(arg)
        elif arg in GLOBAL_VALUED and i + 1 < len(args):
            front += args[i:i + 2]
            i += 1
        else:
            rest.append(arg)
        i += 1
    return front + rest


_display_type = getattr(TyperOption, "display_type_rich", None)  # Typer 0.29 and later


def _no_type_for_flags(self, ctx):
    # Typer 0.29's help shows "--strict <bool>" as if a flag took a value (`--strict true`
    # then fails): a flag shows no type, as in Click's own help
    return None if self.is_flag or self.count else _display_type(self, ctx)


if _display_type is not None:
    TyperOption.display_type_rich = _no_type_for_flags  # type: ignore[method-assign]


class _Group(TyperGroup):
    """Turns a CopcodeError anywhere below into one red message on stderr and exit code 1."""

    def parse_args(self, ctx, args):
        if ctx.parent is None:
            args = global_options_first(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CopcodeError as exc:
            if (ctx.obj or {}).get("debug"):
                raise
            err.print(f"[bold red]Error:[/] {_escape(exc.message)}")
            raise typer.Exit(1) from None


app = typer.Typer(cls=_Group, no_args_is_help=True, add_completion=False,
                  pretty_exceptions_show_locals=False, rich_markup_mode="rich",
                  help="Qualitative coding of interview transcripts with a YAML codebook.")
codebook_app = typer.Typer(cls=_Group, no_args_is_help=True, help="Check a codebook.")
app.add_typer(codebook_app, name="codebook")
privacy_app = typer.Typer(cls=_Group, no_args_is_help=True, help="Find what may identify participants.")
app.add_typer(privacy_app, name="privacy")


@app.callback()
def _options(
    ctx: typer.Context,
    project: Annotated[Path, typer.Option("--project", help="The project folder.")] = Path("."),
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
    no_redact: Annotated[bool, typer.Option("--no-redact", help="Do not pseudonymise outputs (a warning is shown).")] = False,
    version: Annotated[bool, typer.Option("--version", is_eager=True, callback=lambda shown: _version(shown),
                                          help="Show the versions that decide the suggestions, and exit.")] = False,
):
    """Global options go before or after the command name."""
    ctx.obj = {"project": project, "debug": debug, "redact": not no_redact}
    _OPENED.clear()


def _version(shown: bool) -> None:
    if shown:
        from copcode import versions

        typer.echo(", ".join(f"{name} {version}" for name, version in versions().items()))
        raise typer.Exit()


_OPENED: dict = {}  # the project this invocation opened, for checking --out files


def _project(ctx: typer.Context):
    from copcode.project import open_project

    _OPENED["project"] = project = open_project(ctx.obj["project"])
    return project


def _checked_out(path: Path) -> Path:
    """`path` for an --out file, once the command's project said it is not one of its own
    inputs (a transcript, the codebook, the store)."""
    if "project" in _OPENED:
        _OPENED["project"].check_output(path)
    return path


def _redactor(ctx: typer.Context, project, store=None):
    """The project's redactor for outputs; with --no-redact one that changes nothing, and a warning.
    Given the command's open store, it reads passages from the command's snapshot."""
    from copcode.privacy import redactor_for

    _warn_unredacted(ctx, project)
    return redactor_for(project, enabled=ctx.obj["redact"], store=store)


def _warn_unredacted(ctx: typer.Context, project) -> None:
    if not ctx.obj["redact"] and project.settings.privacy is not None:
        err.print("[bold yellow]Warning:[/] --no-redact: the identifiers listed in copcode.yaml "
                  "are NOT pseudonymised in this output.")


@app.command("init")
def init_command(
    ctx: typer.Context,
    folder: Annotated[Optional[Path], typer.Argument(help="The project folder (default: --project, or here).")] = None,
):
    """Make a project: settings, transcripts/, a starter codebook.  e.g. copcode init my-study"""
    from copcode.starter import init_project

    given = folder if folder is not None else ctx.obj["project"]
    result = init_project(given, given=str(given))
    for path in result.created:
        out.print(f"Created {_escape(path)}{'/' if path.is_dir() else ''}")
    for path in result.kept:
        out.print(f"Left alone (already there): {_escape(path)}{'/' if path.is_dir() else ''}")
    out.print(f"Next: put your transcripts in {_escape(given / 'transcripts')}/, then run")
    for command in result.next_commands:
        out.print(f"  {_escape(command)}")


@app.command("transcripts")
def transcripts_command(
    ctx: typer.Context,
    file: Annotated[Optional[Path], typer.Argument(help="One transcript: show its turns as copcode reads them.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
):
    """Preview how each transcript is read: speakers, roles, turns.  e.g. copcode transcripts"""
    import json

    from copcode.preview import preview_lines, preview_transcripts

    if fmt not in ("table", "json"):
        raise CopcodeError(f"unknown format {fmt!r}", fix="use table or json.")
    project = _project(ctx)
    preview = preview_transcripts(project, file).redacted(_redactor(ctx, project))
    if fmt == "json":
        typer.echo(visible(json.dumps(preview.as_dict(), indent=2, ensure_ascii=False)))
        return
    for warning in preview.warnings:
        err.print(f"[yellow]Warning:[/] {_escape(warning)}")
    for line in preview_lines(preview):
        out.print(_escape(line))


@app.command("code")
def code_command(
    ctx: typer.Context,
    strict: Annotated[bool, typer.Option("--strict", help="Stop, naming every transcript that cannot be used, instead of skipping them.")] = False,
    workers: Annotated[int, typer.Option(help="Parse in this many processes.")] = 1,
    input_: Annotated[Optional[Path], typer.Option("--input", help="Survey answers (.csv or .xlsx) instead of transcripts/.")] = None,
    id_column: Annotated[str, typer.Option(help="With --input: the column that identifies each answer.")] = "id",
    text_column: Annotated[str, typer.Option(help="With --input: the column that holds the answer.")] = "text",
    no_learning: Annotated[bool, typer.Option("--no-learning", help="Suggest from the codebook's cues alone, not from the coders' decisions too.")] = False,
):
    """Code the transcripts: segment, suggest codes, store, write out/*.csv.  e.g. copcode code"""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from copcode.coding import code_project
    from copcode.suggest import processors

    if workers < 1:
        raise CopcodeError(f"--workers {workers}: copcode parses in one process or more",
                           fix="give --workers 1 or more (1, the default, parses in this process).")
    if workers > processors():  # each worker loads its own spaCy: thousands filled the memory
        err.print(f"[yellow]Warning:[/] --workers {workers}: this machine has {processors()} processor(s) to parse "
                  f"on, so copcode parses in {processors()} (more would only load more copies of spaCy).")
        workers = processors()
    project = _project(ctx)
    corpus = None
    if input_ is not None:
        from copcode.ingest.survey import read_survey

        corpus = read_survey(project, input_, id_column=id_column, text_column=text_column)
    with Progress(TextColumn("Coding segments"), BarColumn(), MofNCompleteColumn(),
                  console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("code", total=None)
        result = code_project(project, lambda done, total: bar.update(task, completed=done, total=total),
                              strict=strict, redact=ctx.obj["redact"], workers=workers, corpus=corpus,
                              learning=not no_learning)
    _warn_unredacted(ctx, project)
    for warning in result.warnings:
        err.print(f"[yellow]Warning:[/] {_escape(warning)}")
    units, passages = ("answers", "segments") if input_ is not None else ("transcripts", "participant segments")
    out.print(f"Coded {result.transcripts} {units}: {result.segments} {passages}, "
              f"{result.suggestions} suggested codings ({result.parsed} segments parsed, "
              f"{result.segments - result.parsed} unchanged since the last run).")
    if result.learning is not None:
        name = _redactor(ctx, project).redact_names
        _warn_learn_from(result.learning, name)
        out.print(_learned(result.learning, name, "answer" if input_ is not None else "transcript"))
    elif result.learning_off:
        out.print("Learning is off (--no-learning, or `learning: false` in copcode.yaml): suggestions come from "
                  "the cues alone, not from the coders' decisions.")
    _print_frame(result.summary, title="Passages and participants by theme and code")
    for path in result.written:
        out.print(f"Wrote {_escape(project.relative(path))}")


def _warn_learn_from(learning, name) -> None:
    """Warn of the names in `learn_from:` with no decision (all of them: `_learned` says so)."""
    unknown = learning.unknown
    if unknown and len(unknown) < len(learning.learn_from):
        err.print(f"[yellow]Warning:[/] `learn_from:` in copcode.yaml names "
                  f"{_escape(', '.join(repr(name(c)) for c in unknown))}, with no decision here: check the "
                  f"spelling (the coders: {_escape(', '.join(map(name, learning.everyone)))}).")


def _learned(learning, name, noun: str = "transcript") -> str:
    """What `copcode code` learned from, in a sentence; `noun`: what a document is (a survey's
    are answers)."""
    from copcode.errors import counted
    from copcode.learn import MIN_POSITIVES

    if not learning.units and learning.learn_from:
        return ("Learned from no decisions: none is by a coder that `learn_from:` in copcode.yaml names "
                f"(the coders: {', '.join(_escape(name(c)) for c in learning.everyone)}).")
    if not learning.units:
        return ("Learned from no decisions: none is on a passage coded in this run with a code of this codebook "
                "(`copcode status` lists the orphaned ones).")
    coders = ", ".join(f"{_escape(name(c))} ({n})" for c, n in learning.decisions.items())
    left_out = learning.left_out
    if left_out:
        coders += f", not from {', '.join(_escape(name(c)) for c in left_out)} (`learn_from:` in copcode.yaml),"
    said = (f"Learned from {counted(sum(learning.decisions.values()), 'decision')} by {coders} on "
            f"{learning.transcripts} coded {noun}(s), {counted(learning.units, 'passage')}: ")
    one = len(learning.flooding) == 1
    flooding = (f" {', '.join(learning.flooding)}: learned, but kept to {'its' if one else 'their'} cues: the model "
                f"would suggest {'it' if one else 'them'} on far more passages than the coders gave "
                f"{'it' if one else 'them'}.") if learning.flooding else ""
    if not learning.learned:
        return said + (f"no code is suggested from them yet (a code needs at least {MIN_POSITIVES} passages coded with it, in "
                       f"two {noun}s or more, and the learned model must beat its cues); suggestions come from "
                       "the cues alone." + flooding)
    passed = f" (where the model passed over {learning.passed_over} of those codes' cue suggestions)" \
        if learning.passed_over else ""
    return said + (f"{len(learning.learned)} code(s) now suggested from them and the cues "
                   f"({', '.join(learning.learned)}): {learning.suggestions} learned suggestions on the "
                   f"{learning.uncoded} {noun}(s) not coded {'by them' if left_out else 'yet'}{passed}; the other "
                   f"codes, and the coded {noun}s, "
                   "keep their cues' suggestions." + flooding + " Use --no-learning for the cues alone.")


@app.command("quotes")
def quotes_command(
    ctx: typer.Context,
    theme: Annotated[Optional[str], typer.Option(help="Theme id, alias or label.")] = None,
    code: Annotated[Optional[str], typer.Option(help="Only this code.")] = None,
    group: Annotated[Optional[list[str]], typer.Option(help="Only this group, e.g. E; repeat it for several.")] = None,
    participant: Annotated[Optional[list[str]], typer.Option(help="Only this participant, e.g. P03; repeat it for several.")] = None,
    status: Annotated[str, typer.Option(help="accepted, suggested or all.")] = "all",
    limit: Annotated[int, typer.Option(help="At most this many quotes (for each theme, without --theme), shared fairly among the codes (0: all).")] = 10,
    per_participant: Annotated[int, typer.Option(help="At most N quotes per participant and code (0: no cap).")] = 2,
    fmt: Annotated[str, typer.Option("--format", help="table, csv, md, json, xlsx or docx.")] = "table",
    out_file: Annotated[Optional[Path], typer.Option("--out", help="Write to this file.")] = None,
    with_: Annotated[Optional[str], typer.Option("--with", help="Participant attributes to add, e.g. cop,sector; `question`: the interviewer's question before each quote.")] = None,
    level: Annotated[Optional[int], typer.Option(help="Count a code nested deeper than N under its ancestor at level N (1: the codes directly under a theme).")] = None,
):
    """Show exemplar quotes for a theme, code by code.  e.g. copcode quotes --theme territory

    Every code of the theme that has passages gets its share of --limit (limit // codes,
    the first codes in codebook order one more; what a code cannot fill goes to the
    others), so no code hides behind another. Quotes are listed by code in codebook order;
    within a code, accepted codings first, then best score, spread over participants and
    groups. The Word file and the HTML report show the same selection."""
    from copcode.tables import ProjectView, exemplar_quotes

    fmt = fmt.lower()
    attributes = [a.strip() for a in with_.split(",") if a.strip()] if with_ else []
    with _opened(ctx) as (project, codebook, store):
        frame = exemplar_quotes(ProjectView(store, codebook, level=level), theme, code=code, group=group,
                                participant=participant, status=status, limit=limit,
                                per_participant=per_participant, attributes=attributes)
    redactor = _redactor(ctx, project)
    frame, codebook = redactor.redact_frame(frame), redactor.redact_codebook(codebook)
    title = codebook.find_theme(theme).label if theme else "All themes"
    if fmt == "docx" and out_file is None:
        raise CopcodeError("--format docx needs a file", fix="add --out FILE.docx.")
    if out_file is not None and (fmt == "docx" or fmt == "table" and out_file.suffix.lower() == ".docx"):
        from copcode.export import check_ending, write_atomic
        from copcode.export.docx import quotes_docx

        check_ending(out_file, "docx")
        write_atomic(_checked_out(out_file), quotes_docx(frame, codebook, f"Exemplar quotes: {title}", attributes))
        err.print(f"Wrote {len(frame)} quotes to {_escape(out_file)}")
        return
    # a code inside codes is headed by its path: "Learning › Formal › Courses"
    labels = {c.id: " › ".join([a.label for a in reversed(codebook.ancestors(c.id))] + [c.label])
              for c in codebook.codes}
    _output(frame, fmt, out_file, lambda f: _print_quotes(f, title, attributes, labels), also=("docx",))


@app.command("segments")
def segments_command(
    ctx: typer.Context,
    theme: Annotated[Optional[str], typer.Option(help="Only segments with a code of this theme.")] = None,
    code: Annotated[Optional[str], typer.Option(help="Only segments with this code.")] = None,
    group: Annotated[Optional[list[str]], typer.Option(help="Only this group, e.g. E; repeat it for several.")] = None,
    participant: Annotated[Optional[list[str]], typer.Option(help="Only this participant, e.g. P03; repeat it for several.")] = None,
    status: Annotated[str, typer.Option(help="Only segments with a code in this status: accepted, suggested, rejected or all.")] = "all",
    fmt: Annotated[str, typer.Option("--format", help="table, csv, md, json or xlsx.")] = "table",
    out_file: Annotated[Optional[Path], typer.Option("--out", help="Write to this file.")] = None,
    level: Annotated[Optional[int], typer.Option(help="Count a code nested deeper than N under its ancestor at level N (1: the codes directly under a theme).")] = None,
):
    """List every segment, coded or not, with its codes.  e.g. copcode segments --format csv

    One row per segment, in transcript order: transcript, participant, group, speaker,
    start, end, text, and its codes with their status ("learn: accepted; time: suggested").
    A segment with no code is listed with empty codes (unless --theme, --code or --status
    asks for coded ones)."""
    from copcode.tables import ProjectView, segment_list

    with _opened(ctx) as (project, codebook, store):
        table = segment_list(ProjectView(store, codebook, level=level), theme=theme, code=code, group=group,
                             participant=participant, status=status)
    table = _redacted(ctx, project, table)
    _output(table, fmt, out_file, lambda f: _print_frame(f, "Segments", left=(
        "segment", "transcript", "participant", "group", "speaker", "text", "codes")))


@app.command("matrix")
def matrix_command(
    ctx: typer.Context,
    by: Annotated[str, typer.Option(help="Rows: participant or group.")] = "participant",
    columns: Annotated[str, typer.Option(help="Columns: codes or themes.")] = "codes",
    cells: Annotated[str, typer.Option(help="counts, presence or quotes.")] = "counts",
    cooccurrence: Annotated[bool, typer.Option("--cooccurrence", help="Code by code instead: passages with both codes.")] = False,
    status: Annotated[str, typer.Option(help="accepted, suggested or all.")] = "all",
    fmt: Annotated[str, typer.Option("--format", help="table, csv, md, json or xlsx.")] = "table",
    out_file: Annotated[Optional[Path], typer.Option("--out", help="Write to this file.")] = None,
    level: Annotated[Optional[int], typer.Option(help="Count a code nested deeper than N under its ancestor at level N (1: the codes directly under a theme).")] = None,
):
    """Framework matrix: participants or groups by codes or themes.  e.g. copcode matrix --by group"""
    from copcode import tables

    with _opened(ctx) as (project, codebook, store):
        redactor = _redactor(ctx, project)
        view = tables.ProjectView(store, codebook, level=level)
        frame = tables.cooccurrence(view, status) if cooccurrence else \
            tables.framework_matrix(view, by=by, columns=columns, cells=cells, status=status,
                                    redactor=redactor)
    title = "Code co-occurrence (passages)" if cooccurrence else f"Framework matrix: {by} by {columns} ({cells})"
    _output(redactor.redact_frame(frame), fmt, out_file, lambda f: _print_frame(f, title))


@app.command("export")
def export_command(
    ctx: typer.Context,
    out_file: Annotated[Path, typer.Option("--out", help="The file to write.")],
    fmt: Annotated[Optional[str], typer.Option("--format", help="csv, xlsx, qdpx, qdc or html (default: the --out file's ending).")] = None,
    suggestions: Annotated[bool, typer.Option("--suggestions", help="qdpx: include suggestions, under their own user.")] = False,
    utf16: Annotated[bool, typer.Option("--utf16", help="qdpx: offsets in UTF-16 code units, as NVivo counts them (default: characters).")] = False,
):
    """Export the whole project.  e.g. copcode export --out study.qdpx"""
    from copcode.export import EXPORT_FORMATS, export_project, format_of

    fmt = fmt.lower() if fmt is not None else format_of(out_file, EXPORT_FORMATS)
    if fmt is None:
        raise CopcodeError(f"{out_file}: the file's ending does not tell which format to write",
                           fix=f"end its name in .html, .xlsx, .csv, .qdpx or .qdc, or add --format "
                               f"({', '.join(EXPORT_FORMATS)}).")
    warnings: list[str] = []
    with _opened(ctx) as (project, codebook, store):
        export_project(store, codebook, fmt, _checked_out(out_file), title=codebook.title or project.root.name,
                       include_suggestions=suggestions, redactor=_redactor(ctx, project, store), warnings=warnings,
                       utf16=utf16)
    for warning in warnings:
        err.print(f"[yellow]Warning:[/] {_escape(warning)}")
    out.print(f"Wrote {_escape(out_file)}")


@app.command("import")
def import_command(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="A REFI-QDA project (.qdpx) or codebook (.qdc), a Taguette project (.sqlite3), or a table of codings (.csv, .xlsx).")],
    utf16: Annotated[Optional[bool], typer.Option("--utf16/--no-utf16", help="Offsets are UTF-16 code units (as NVivo writes them), or not (default: detected from the file).")] = None,
    coder: Annotated[Optional[str], typer.Option(help="With a table: whose coding it is.")] = None,
):
    """Bring codes and codings from another tool.  e.g. copcode import study.qdpx"""
    if path.suffix.lower() in (".csv", ".xlsx"):
        return _import_table(ctx, path, coder)
    if coder is not None:
        raise CopcodeError("--coder is for a table of codings (.csv, .xlsx): a project file names its "
                           "own coders", where=str(path),
                           fix="leave out --coder for a project file (each coding keeps the user who made it "
                               "in the other tool); save a table as .csv or .xlsx.")
    from copcode.errors import counted
    from copcode.importing import import_refi

    project = _project(ctx)
    result = import_refi(project, path, utf16=utf16)
    if result.codebook_written:
        also = f" and {_escape(project.relative(result.settings_written))}" if result.settings_written else ""
        out.print(f"Wrote {_escape(project.relative(result.codebook_written))}{also}")
    out.print(f"Added {counted(len(result.transcripts_written), 'transcript')} and {counted(result.codings, 'coding')}.")
    for note in result.notes:
        out.print(_escape(note))
    for merged in result.merged:
        out.print(f"Merged: {_escape(merged)}")
    if result.already:
        first = "Nothing new" if not (result.codings or result.transcripts_written) else "Not recorded again"
        out.print(f"{first}: {counted(result.already, 'coding')} already recorded.")
    for problem in result.problems:
        out.print(f"[yellow]Not imported:[/] {_escape(problem)}")


def _import_table(ctx: typer.Context, path: Path, coder: str | None) -> None:
    from copcode.import_table import import_table

    project = _project(ctx)
    result = import_table(project, path, coder)
    for line in result.summary(_redactor(ctx, project).redact_names):
        out.print(_escape(line))
    for problem in result.problems:
        out.print(f"[yellow]Not imported:[/] {_escape(problem)}")
    if result.tags or result.marked:  # decisions now, but out/ and the suggestions are the last run's
        out.print("Run `copcode code` (for survey answers `copcode code --input FILE`, as they were coded) to learn from "
                  "this coding and to write it into out/.")


WARNINGS_SHOWN = 10  # a first codebook may have hundreds; the first few teach what to look for


@codebook_app.command("check")
def codebook_check(
    ctx: typer.Context,
    path: Annotated[Optional[Path], typer.Argument(help="The codebook (default: the project's).")] = None,
    all_: Annotated[bool, typer.Option("--all", help=f"List every warning, not only the first {WARNINGS_SHOWN}.")] = False,
):
    """Validate a codebook and list every problem with its line; then warn about cues that may
    not do what was meant (keywords matched as another word, cues counted twice, weights that
    cannot suggest alone).  e.g. copcode codebook check"""
    from copcode.codebook import load_codebook
    from copcode.coding import project_codebook
    from copcode.errors import counted
    from copcode.nlp import build_pipeline, compile_cues, cue_warnings

    project = _project(ctx)  # its min_score, for a codebook named too (defaults outside a project)
    codebook = load_codebook(path) if path else project_codebook(project)
    nlp = build_pipeline(codebook)  # spaCy checks the token patterns
    counts = [counted(len(codebook.themes), "theme"), counted(len(codebook.codes), "code"),
              counted(len(compile_cues(codebook)), "cue")]
    out.print(f"{_escape(codebook.path)}: valid. {', '.join(counts)}.")
    warnings = cue_warnings(codebook, project.settings.min_score, nlp)
    for warning in warnings if all_ else warnings[:WARNINGS_SHOWN]:
        err.print(f"[yellow]Warning:[/] {_escape(warning)}")
    if len(warnings) > WARNINGS_SHOWN and not all_:
        err.print(f"{len(warnings)} warnings in all; these are the first {WARNINGS_SHOWN}. "
                  "`copcode codebook check --all` lists every one.")


@codebook_app.command("cues")
def codebook_cues(
    ctx: typer.Context,
    code: Annotated[Optional[str], typer.Argument(help="Only this code's cues.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv, md, json or xlsx.")] = "table",
    out_file: Annotated[Optional[Path], typer.Option("--out", help="Write to this file.")] = None,
):
    """Each cue with the form it is matched in (its lemmas, or the words as written for exact
    keywords), how many passages of the coded project it matches, and of the coders' decisions
    on its code for those passages, how many there are and how many accepted.
    e.g. copcode codebook cues"""
    import pandas as pd

    from copcode.decisions import coding_state, with_absences
    from copcode.nlp import cue_listing

    with _opened(ctx) as (project, codebook, store):
        passages, verdicts = store.segment_texts(), with_absences(store, codebook, coding_state(store, codebook))
    table = _redacted(ctx, project, pd.DataFrame(cue_listing(codebook, passages, code, verdicts), columns=[
        "code", "kind", "cue", "matched_as", "weight", "passages", "decided", "accepted"]))
    _output(table, fmt, out_file, lambda f: _print_frame(f, "Cues", left=("code", "kind", "cue", "matched_as")))


@app.command("status")
def status_command(ctx: typer.Context):
    """Say what is loaded, coded, reviewed and orphaned.  e.g. copcode status"""
    from copcode.decisions import project_status

    with _opened(ctx) as (project, codebook, store):
        status = project_status(store, codebook)
    redactor = _redactor(ctx, project)
    clean = redactor.redact
    run = status.run
    out.print(f"Last coded {_escape(run['at'])} with {_escape(run['codebook'])}." if run else "Not coded yet.")
    if run and "spacy" in run.keys():  # runs recorded before the versions were kept have none
        out.print(f"Engine {_escape(run['engine'])}, spaCy {_escape(run['spacy'] or 'unknown')}, "
                  f"spacy-lookups-data {_escape(run['lookups'] or 'unknown')}.")
    out.print(f"{status.transcripts} transcripts, {status.segments} segments, "
              f"{status.suggestions} suggestions: {status.reviewed} reviewed, {status.pending} pending.")
    coders = ", ".join(f"{_escape(redactor.redact_names(c))} ({n})" for c, n in status.coders.items()) or "none yet"
    out.print(f"{status.decisions} decisions; coders (codings decided): {coders}.")
    if status.orphans:
        out.print(f"[bold red]{len(status.orphans)} orphaned decision(s)[/]: their words are no "
                  "longer in the transcript. They are kept in the log; tag the new words to re-code.")
        for d in status.orphans:
            out.print(f"  #{d.id} {d.verdict} {_escape(d.code)} by {_escape(redactor.redact_names(d.coder))} "
                      f"on {_escape(d.transcript)} {d.start}-{d.end}: "
                      f"“{_escape(' '.join(clean(d.text).split()))}”")
    else:
        out.print("No orphaned decisions.")
    if status.codes_not_in:
        from copcode.decisions import codes_not_in_text

        out.print(f"[yellow]Warning:[/] {_escape(codes_not_in_text(status.codes_not_in))}")
    if status.lost_spans:
        out.print(f"[yellow]{len(status.lost_spans)} exact span(s) lost[/]: their words were edited in the "
                  "transcript, so their codings quote the whole segment. Tag again with --quote to choose the words.")
        for d in status.lost_spans:
            out.print(f"  #{d.id} {_escape(d.code)} by {_escape(redactor.redact_names(d.coder))} on "
                      f"{_escape(d.segment)}: “{_escape(' '.join(clean(d.span_words or '').split()))}”")


def _decision_command(verdict: str):
    def command(
        ctx: typer.Context,
        segment: Annotated[str, typer.Argument(help="Segment id, e.g. E05-3fa2c1.")],
        code: Annotated[str, typer.Argument(help="Code id, e.g. shared-language.")],
        coder: Annotated[Optional[str], typer.Option(help="Who decides (default: $COPCODE_CODER or your login).")] = None,
        note: Annotated[str, typer.Option(help="A note kept with the decision.")] = "",
    ):
        _decide(ctx, verdict, segment, code, coder, note)
    return command


def _decide(ctx: typer.Context, verdict: str, segment: str, code: str, coder: Optional[str], note: str,
            quote: Optional[str] = None, span: Optional[str] = None) -> None:
    from copcode.decisions import default_coder, find_segment, record, span_in

    with _opened(ctx, write=True) as (project, codebook, store):
        redactor = _redactor(ctx, project, store)
        chosen = span_in(find_segment(store, segment), quote, span, redactor) \
            if quote is not None or span is not None else None
        decision = record(store, codebook, segment, code, verdict, default_coder() if coder is None else coder,
                          note, span=chosen)
        words = f" ({decision.span_start}-{decision.span_end}: “" \
                f"{_escape(redactor.redact_at(decision.span_words, decision.transcript, decision.span_start))}”)" \
            if decision.span_words else ""
    undoes = f", {_escape(redactor.redact(decision.note))}" if verdict == "undo" else ""  # the coder's note too
    out.print(f"{_escape(redactor.redact_names(decision.coder))}: {verdict} {_escape(decision.code)} on "
              f"{_escape(decision.segment)}{words} (decision {decision.id}{undoes}).")


@app.command("tag")
def tag_command(
    ctx: typer.Context,
    segment: Annotated[str, typer.Argument(help="Segment id, e.g. E05-3fa2c1.")],
    code: Annotated[str, typer.Argument(help="Code id, e.g. shared-language.")],
    coder: Annotated[Optional[str], typer.Option(help="Who decides (default: $COPCODE_CODER or your login).")] = None,
    note: Annotated[str, typer.Option(help="A note kept with the decision.")] = "",
    quote: Annotated[Optional[str], typer.Option(help="The exact words of the segment the code is for (default: the whole segment).")] = None,
    span: Annotated[Optional[str], typer.Option(help="START:END, offsets into the segment's text, instead of --quote.")] = None,
):
    """Give a segment a code.  e.g. copcode tag E05-3fa2c1 shared-language --quote 'in English, please'"""
    _decide(ctx, "tag", segment, code, coder, note, quote, span)


for _verdict, _help in [("untag", "Take a code off a segment.  e.g. copcode untag E05-3fa2c1 shared-language"),
                        ("reject", "Reject a suggested code.  e.g. copcode reject P03-6cb8c5 shared-language"),
                        ("undo", "Take back your latest decision on a segment and code (a rejection, say), as review's u "
                                 "does.  e.g. copcode undo P03-6cb8c5 shared-language")]:
    _command = _decision_command(_verdict)
    _command.__doc__ = _help
    app.command(_verdict)(_command)


@app.command("review")
def review_command(
    ctx: typer.Context,
    coder: Annotated[Optional[str], typer.Option(help="Who reviews (default: $COPCODE_CODER or your login).")] = None,
    theme: Annotated[Optional[str], typer.Option(help="Only this theme.")] = None,
    code: Annotated[Optional[str], typer.Option(help="Only this code.")] = None,
    participant: Annotated[Optional[list[str]], typer.Option(help="Only this participant; repeat it for several.")] = None,
    group: Annotated[Optional[list[str]], typer.Option(help="Only this group; repeat it for several.")] = None,
    min_score: Annotated[float, typer.Option(help="Only suggestions scoring at least this.")] = 0.0,
    order: Annotated[str, typer.Option(help="transcript, or uncertain: those the suggestions are least sure of first (each decision then teaches the most).")] = "transcript",
    export: Annotated[Optional[Path], typer.Option("--export", help="Write the queue to a .xlsx or .csv sheet.")] = None,
    import_: Annotated[Optional[Path], typer.Option("--import", help="Apply a filled-in sheet.")] = None,
):
    """Go through suggestions one by one, or by spreadsheet.  e.g. copcode review --theme territory"""
    from copcode.decisions import default_coder
    from copcode.review import ReviewSession, import_review_sheet, review_queue, review_sheet

    with _opened(ctx, write=export is None or import_ is not None) as (project, codebook, store):
        if import_ is not None:
            coder, counts = import_review_sheet(store, codebook, import_, coder, _redactor(ctx, project).redact_names)
            out.print(f"{_escape(coder)}: {counts['accept']} accepted, {counts['reject']} rejected, "
                      f"{counts['recode']} re-coded, {counts['skipped']} left undecided"
                      + (f", {counts['unchanged']} unchanged" if counts["unchanged"] else "")
                      + (f"; {counts['moved']} row(s) found by their words, their transcript edited since the sheet "
                         "was written." if counts["moved"] else "."))
            return
        coder = default_coder() if coder is None else coder
        items = review_queue(store, codebook, coder, theme=theme, code=code, participant=participant,
                             group=group, min_score=min_score, order=order,
                             cue_threshold=project.settings.min_score)
        if export is not None:
            _emit(_redacted(ctx, project, review_sheet(items, codebook, coder)), export.suffix.lstrip(".").lower(),
                  export, formats=("xlsx", "csv"))
            return
        if not items:
            out.print(f"Nothing left to review for {_escape(coder)} here.")
            return
        session = ReviewSession(store, codebook, coder, items)
        _review_loop(session, _redactor(ctx, project))
        carry_on = " Run the same command to carry on." if session.left else ""
        out.print(f"{_escape(coder)}: {session.decided} decided this time; {session.left} left.{carry_on}")


@app.command("agreement")
def agreement_command(
    ctx: typer.Context,
    coders: Annotated[Optional[str], typer.Option(help="Two coders or more, comma-separated; `suggestions` for the suggestions. Default: every coder.")] = None,
    coder: Annotated[Optional[list[str]], typer.Option("--coder", help="One coder, as written (a name with a comma); repeat it.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv, md, json or xlsx.")] = "table",
    disagreements: Annotated[bool, typer.Option("--disagreements", help="List the disagreements instead.")] = False,
    out_file: Annotated[Optional[Path], typer.Option("--out", help="Write to this file.")] = None,
):
    """Agreement between coders per code and overall.  e.g. copcode agreement --coders a,b"""
    from copcode.agreement import agreement_report

    names = [c.strip() for c in (coders or "").split(",") if c.strip()] + [c.strip() for c in coder or [] if c.strip()]
    with _opened(ctx) as (project, codebook, store):
        table, disagreeing, names = agreement_report(store, codebook, names)
    redactor = _redactor(ctx, project)
    shown = [redactor.redact_names(name) for name in names]  # coders' names head columns
    disagreeing = redactor.redact_frame(disagreeing.rename(columns=dict(zip(names, shown))))
    if disagreements:
        _output(disagreeing, fmt, out_file, lambda f: _print_frame(f, title="Disagreements",
                                                                   left=("segment", "participant", "code", "text")))
        return

    def show(frame):
        _print_frame(frame.round(3).astype(object).fillna("-"), title=f"Agreement between {', '.join(shown)} "
                     "(unit: a segment and a code)")
        out.print(f"{len(disagreeing)} disagreement(s); list them with --disagreements.")
    _output(table, fmt, out_file, show)


@app.command("evaluate")
def evaluate_command(
    ctx: typer.Context,
    coder: Annotated[Optional[list[str]], typer.Option("--coder", help="Evaluate against this coder's decisions; repeat it. Default: everyone's.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv, md, json or xlsx.")] = "table",
    out_file: Annotated[Optional[Path], typer.Option("--out", help="Write to this file.")] = None,
):
    """How good the suggestions are against the coders' decisions, per code.  e.g. copcode evaluate"""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from copcode.learn import evaluate_project

    names = [c.strip() for c in coder or [] if c.strip()]
    with _opened(ctx) as (project, codebook, store), \
            Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                     console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("Reading the decisions", total=None)
        found = evaluate_project(store, codebook, project.settings.min_score, names,
                                 on_progress=lambda done, total: bar.update(
                                     task, completed=done, total=total, description="Cross-validating: folds"))
    name = _redactor(ctx, project).redact_names
    units = found.units
    coders = ", ".join(name(c) for c in units.decisions)  # the title is escaped where it is printed
    how = (f"cross-validated by transcript in {found.folds} folds: the model never saw the transcript it is scored on"
           if found.folds else "one coded transcript: nothing can be learned without seeing it, so learning = cues")

    def show(table):
        from copcode.tables import Table

        # short headings and two decimals, to fit a terminal
        headings = ["code", "gold", "cues P", "R", "F1", "learning P", "R ", "F1 ", "best cue score"]
        shown = Table(headings, [dict(zip(headings, [row[0], row[1]] + ["-" if v is None else f"{v:.2f}" for v in row[2:]]))
                                 for row in table.itertuples()])
        _print_frame(shown, title=f"Suggestions against the decisions of {coders} on {len(set(units.transcripts))} "
                     f"transcript(s), {len(units.segments)} passages; {how}", left=("code",), whole=("code",))
        out.print("gold: passages with the code; precision, recall and F1 per code, then micro (over every "
                  "passage and code) and macro (the mean over the codes with gold passages); best cue "
                  "score: the cue score that would have given the code its best F1, where min_score does not (--format csv: "
                  "best_cue_threshold).")
    _output(found.table if fmt == "table" and out_file is None else found.with_context(name), fmt, out_file, show)


@contextmanager
def _opened(ctx: typer.Context, write: bool = False):
    """The project, its codebook and its store (which must exist), closed afterwards. A read
    command (write=False) gets the store read-only, and everything it reads inside comes from
    one snapshot; a write command gets it writable and makes its own transactions."""
    from copcode.coding import project_codebook
    from copcode.store import open_store

    project = _project(ctx)
    codebook = project_codebook(project)
    store = open_store(project.store_path, create=False, readonly=not write)
    try:
        if write:
            yield project, codebook, store
        else:
            with store.snapshot():
                yield project, codebook, store
    finally:
        store.close()


def _review_loop(session, redactor) -> None:
    keys = _escape("[a]ccept  [r]eject  [c]ode…  [s]kip  [n]ote  [u]ndo  [q]uit")
    note = ""
    while session.current is not None:
        item = session.current
        code = session.codebook.code(item.code)
        group = f" ({redactor.redact(item.group)})" if item.group else ""
        learned = next((e for e in item.evidence if e.get("kind") == "learned"), None)
        needs = f" (learned: needs {learned['threshold']:.2f})" if learned else ""  # not min_score
        out.rule(_escape(f"{session.index + 1} of {len(session.items)}  ·  {item.participant}{group}"
                         f"  ·  {item.theme} / {item.code}  ·  score {item.score:.2f}{needs}"))
        out.print(f"[bold]{_escape(redactor.redact(code.label))}[/]: {_escape(redactor.redact(code.definition.strip()))}")
        if item.question:  # the question the passage answers, as context
            out.print(f"[dim]{_escape(redactor.redact_at(item.question, item.transcript, item.question_start))}[/]")
        out.print(_highlighted(item, redactor))
        from copcode.tables import evidence_shown

        shown = [redactor.redact(e) for e in evidence_shown(item.evidence, redactor.hider(item.text))]
        out.print(f"[dim]evidence: {_escape(', '.join(shown))}[/]" + (f"\n[dim]note: {_escape(note)}[/]" if note else ""))
        out.print(keys)
        key = _read_key()
        if key == "a":
            session.accept(note)
        elif key == "r":
            session.reject(note)
        elif key == "c":
            choices = [c.id for c in session.codebook.codes]
            out.print(_escape("  ".join(f"{i}:{c}" for i, c in enumerate(choices, 1))))
            answer = typer.prompt("Code (number or id)").strip()
            chosen = choices[int(answer) - 1] if answer.isdigit() and 0 < int(answer) <= len(choices) else answer
            try:
                session.recode(chosen, note)
            except CopcodeError as exc:
                err.print(f"[red]{_escape(exc.what)}[/]")
                continue
        elif key == "s":
            session.skip()
        elif key == "n":
            note = typer.prompt("Note", default="", show_default=False)
            continue
        elif key == "u":
            try:
                if not session.undo():
                    out.print("Nothing to undo.")
            except CopcodeError as exc:  # taken back already by another command
                err.print(f"[red]{_escape(exc.what)}[/]")
                continue
        elif key in ("q", "\x03", "\x04"):
            break
        else:
            continue
        note = ""


def _read_key() -> str:
    """One key press at a terminal; one character from piped input (end of input: quit). A
    key pressed before the screen was ready is kept: the terminal is switched to raw mode
    without discarding what was typed (click.getchar's switch flushes it)."""
    import sys

    if not sys.stdin.isatty():
        return (sys.stdin.read(1) or "q").lower()
    try:
        import termios
        import tty
    except ImportError:  # Windows
        import click

        return click.getchar().lower()
    import os

    fd = sys.stdin.fileno()
    old = termios.tcgetattr(fd)
    try:
        tty.setraw(fd, termios.TCSADRAIN)
        key = os.read(fd, 1).decode("utf-8", "replace")
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, old)
    if key == "\x03":  # Ctrl-C, which raw mode delivers as a character
        raise KeyboardInterrupt
    return "q" if key in ("", "\x04") else key.lower()


def _highlighted(item, redactor):
    """The passage with its evidence highlighted; pseudonymised with its whole transcript's
    identifiers, the highlights moved along."""
    from rich.text import Text

    words, moved = redactor.redact_at_mapped(item.text, None, item.start, segment=item.segment)
    text = Text(visible(words))  # as long as `words`: the highlights stay in place
    for e in item.evidence:
        if "start" in e:
            text.stylize("bold black on yellow", moved(e["start"] - item.start), moved(e["end"] - item.start))
    return text


def _escape(text) -> str:
    """User text for a rich markup string: shown as written, its markup and control
    characters (terminal escapes) included."""
    from rich.markup import escape

    return escape(visible(str(text)))


def _redacted(ctx: typer.Context, project, frame):
    return _redactor(ctx, project).redact_frame(frame)


@privacy_app.command("scan")
def privacy_scan(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="table, csv, md, json or xlsx.")] = "table",
    out_file: Annotated[Optional[Path], typer.Option("--out", help="Write to this file.")] = None,
):
    """List what may still identify someone, per transcript.  e.g. copcode privacy scan"""
    from copcode.ingest import not_coded
    from copcode.privacy import redactor_for, scan

    with _opened(ctx) as (project, codebook, store):
        redactor = redactor_for(project, store=store)
        found = scan(store, redactor)
        unscanned = not_coded(project, store.transcript_hashes())
    if unscanned:
        shown = ", ".join(unscanned[:10]) + (f" and {len(unscanned) - 10} more" if len(unscanned) > 10 else "")
        err.print(f"[yellow]Warning:[/] not scanned, new or changed since the last `copcode code` (or skipped by "
                  f"it): {_escape(shown)}. Run `copcode code` (it says why it skips a file), then scan again.")
    if redactor.active:
        title = ("Possible identifiers (listed and detected ones are pseudonymised in outputs; "
                 "confirm the capitalised ones and list them in copcode.yaml)")
    else:
        title = ("Possible identifiers: NOTHING is pseudonymised in outputs: copcode.yaml lists no identifier "
                 "and detects nothing (README, 'Privacy')")
        if fmt != "table":
            err.print(title)
    _output(found, fmt, out_file, lambda f: _print_frame(f, title))


def _output(frame, fmt: str, path: Optional[Path], show, also: tuple[str, ...] = ()) -> None:
    """`show` the table in the terminal, or write it in `fmt` (with --out and no --format:
    the file's ending) to the file or, for text formats, to standard output alone. `also`:
    the command's other formats, which it writes itself (named when `fmt` is unknown)."""
    from copcode.export import TABLE_FORMATS, format_of

    fmt = fmt.lower()
    if fmt not in ("table",) + TABLE_FORMATS:
        raise CopcodeError(f"unknown format {fmt!r}", fix=f"use one of {', '.join(('table',) + TABLE_FORMATS + also)}.")
    if fmt == "table" and path is None:
        show(frame)
        return
    if fmt == "table" and path is not None:  # no --format: the --out file's ending tells it
        fmt = format_of(path, TABLE_FORMATS) or ""
        if not fmt:
            *most, last = [f".{name}" for name in TABLE_FORMATS + also]
            raise CopcodeError(f"{path}: the file's ending does not tell which format to write",
                               fix=f"end its name in {', '.join(most)} or {last}, or add --format.")
    _emit(frame, fmt, path)


def _emit(frame, fmt: str, path: Optional[Path], formats: tuple[str, ...] | None = None) -> None:
    from copcode.export import TABLE_FORMATS, TEXT_FORMATS, render_table, write_table

    formats = formats or TABLE_FORMATS
    if fmt not in formats:
        raise CopcodeError(f"unknown format {fmt!r}" if fmt else f"{path}: the file has no ending to tell its format",
                           fix=f"use one of {', '.join(formats)} (--format, or the --out file's ending).")
    if path is None:
        if fmt not in TEXT_FORMATS:
            raise CopcodeError(f"--format {fmt} needs a file", fix="add --out FILE.")
        # Standard output may reach a terminal through a pipe (`| head`, `| less -R`): control
        # characters are shown as symbols there too; `--out FILE` keeps the text byte for byte.
        typer.echo(visible(render_table(frame, fmt)), nl=False)
    else:
        warnings: list[str] = []
        write_table(frame, _checked_out(path), fmt, warnings=warnings)
        for warning in warnings:
            err.print(f"[yellow]Warning:[/] {_escape(warning)}")
        err.print(f"Wrote {len(frame)} rows to {_escape(path)}")


def _print_frame(frame, title: str, left: tuple[str, ...] = ("theme", "code"), whole: tuple[str, ...] = ()) -> None:
    """`frame` as a table; the columns in `whole` are never shortened (a long id wraps)."""
    from rich.table import Table

    table = Table(title=_escape(title), title_justify="left")
    for column in frame.columns:
        table.add_column(_escape(column), justify="left" if column in left else "right",
                         overflow="fold" if column in whole else "ellipsis")
    for row in frame.itertuples(index=False):
        table.add_row(*(_escape(str(v)) for v in row))
    out.print(table)


def _print_quotes(frame, title: str, attributes: Sequence[str] = (), labels: dict[str, str] | None = None) -> None:
    """The quotes, a table per code (they come grouped by code) headed by the code's label."""
    from itertools import groupby

    from rich.table import Table

    rows = frame.to_dict("records")
    if not rows:
        out.print(f"No quotes for {_escape(title)}.")
        return
    out.print(f"[bold]{_escape(title)}[/]")
    number = 0
    for code, same_code in groupby(rows, key=lambda r: r["code"]):
        label = (labels or {}).get(code, code)
        table = Table(title=_escape(f"{label} ({code})"), title_justify="left", show_lines=True, expand=True)
        table.add_column("#", justify="right", width=3)
        table.add_column("quote", ratio=1, min_width=40)
        table.add_column("score", justify="right")
        table.add_column("status", max_width=20)
        for row in same_code:
            number += 1
            quote = " ".join(row["quote"].split())
            who = ", ".join([row["participant"], *[str(row[a]) for a in attributes if row[a] and a != "question"]])
            asked = f"[dim]{_escape(' '.join(row['question'].split()))}[/]\n" if row.get("question") else ""
            table.add_row(str(number), f"{asked}“{_escape(quote)}” [bold]({_escape(who)})[/]\n[dim]{_escape(row['segment'])}[/]",
                          f"{row['score']:.2f}", _escape(row["status"]))
        out.print(table)


def main() -> None:
    app()
