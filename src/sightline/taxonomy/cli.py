"""``sightline taxonomy show|export|build``."""

from __future__ import annotations

import csv
import io
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from sightline.cli_support import console, fail
from sightline.errors import NotFound
from sightline.taxonomy import builder, registry
from sightline.taxonomy.loader import Kli, load_taxonomy

taxonomy_app = typer.Typer(help="The KLI taxonomy: codes, names, tree.", no_args_is_help=True)

EXPORT_COLUMNS = (
    "kli_code",
    "key",
    "kli_name",
    "kli_description",
    "parent_kli_code",
    "parents",
    "kli_class",
    "kli_is_competitive",
    "kli_is_leaf",
)


class ExportFormat(StrEnum):
    csv = "csv"
    json = "json"


def _record(kli: Kli) -> dict[str, object]:
    tree = load_taxonomy()
    return {
        "kli_code": kli.kli_code,
        "key": kli.key,
        "kli_name": kli.kli_name,
        "kli_description": kli.kli_description,
        "parent_kli_code": kli.parent_kli_code,
        "parents": list(tree.ancestors(kli.kli_code)),
        "kli_class": kli.kli_class,
        "kli_is_competitive": kli.kli_is_competitive,
        "kli_is_leaf": kli.kli_is_leaf,
    }


@taxonomy_app.command("show")
def show(
    code: Annotated[int, typer.Argument(help="KLI code, e.g. 8616194.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show one KLI: name, description, flags, parents up to the root and direct children."""
    tree = load_taxonomy()
    try:
        kli = tree.get(code)
    except NotFound as exc:
        fail(str(exc))
    record = _record(kli)
    record["children"] = list(tree.children.get(code, ()))
    if as_json:
        typer.echo(json.dumps(record, ensure_ascii=False))
        return
    console.print(f"[bold]{kli.kli_code}[/] {kli.kli_name}  ({kli.key})", highlight=False)
    console.print(kli.kli_description, highlight=False)
    console.print(
        f"class={kli.kli_class} competitive={kli.kli_is_competitive} leaf={kli.kli_is_leaf}"
    )
    path = " > ".join(f"{p} {tree.nodes[p].kli_name}" for p in reversed(tree.ancestors(code)))
    console.print(f"parents: {path or '(top level)'}", highlight=False)
    kids = tree.children.get(code, ())
    console.print(f"children: {len(kids)}")
    for child in kids[:20]:
        console.print(f"  {child} {tree.nodes[child].kli_name}", highlight=False)
    if len(kids) > 20:
        console.print(f"  … {len(kids) - 20} more")


def render_export(fmt: ExportFormat) -> str:
    records = [_record(k) for k in sorted(load_taxonomy(), key=lambda k: k.kli_code)]
    if fmt is ExportFormat.json:
        return json.dumps(records, ensure_ascii=False, indent=1) + "\n"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for rec in records:
        parents = rec["parents"]
        assert isinstance(parents, list)
        writer.writerow({**rec, "parents": " ".join(str(p) for p in parents)})
    return out.getvalue()


@taxonomy_app.command("export")
def export(
    fmt: Annotated[ExportFormat, typer.Option("--format", help="csv or json.")] = ExportFormat.csv,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File to write; default stdout.")
    ] = None,
) -> None:
    """Export the whole taxonomy (every KLI with its parents) as CSV or JSON."""
    text = render_export(fmt)
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"--output {output}: {exc.strerror or exc}.", 2)
    console.print(f"wrote {len(load_taxonomy())} KLIs to {output}")


@taxonomy_app.command("build")
def build(
    path: Annotated[
        Path | None, typer.Option("--registry", help="Registry file; default the packaged one.")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report, do not write.")] = False,
) -> None:
    """Derive the tree from the merchant directory and append new codes to the registry."""
    from sightline.enrich.directory import load_directory

    if path is not None and path.exists() and not path.is_file():
        fail(f"--registry {path}: not a file.", 2)
    try:
        existing = registry.read_registry(path)
        result = builder.merge(existing, builder.build_specs(load_directory()))
    except registry.RegistryError as exc:
        fail(str(exc))
    problems = registry.check_append_only(existing, result.rows)
    if problems:
        fail("; ".join(problems))
    if not dry_run:
        try:
            registry.write_registry(result.rows, path)
        except OSError as exc:
            fail(f"--registry {path}: {exc.strerror or exc}.", 2)
    verb = "would append" if dry_run else "appended"
    console.print(
        f"{verb} {len(result.added)} KLIs; {len(result.rows)} in the registry"
        f" ({len(result.kept)} no longer generated, kept)"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(taxonomy_app, name="taxonomy")
