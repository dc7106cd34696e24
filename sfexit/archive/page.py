"""``ARCHIVE/index.html``: the human entry point, static, in one of the report's languages.

It lists the objects with their labels and row counts, the completeness proof, and the
commands that check and open the archive. Words come from the report's catalogues
(``sfexit/report/i18n/<lang>.json``, keys ``archive.*``), dates and numbers from Babel through
the same :class:`~sfexit.report.i18n.Catalogue`. The stylesheet is the report's: the page is
one file with nothing to fetch, readable from a USB stick in twenty years.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sfexit.archive.database import DATABASE_NAME
from sfexit.archive.source import ExportSource
from sfexit.export.verify import VerifyReport
from sfexit.report.i18n import Catalogue
from sfexit.report.style import CSS

PAGE_NAME = "index.html"


@dataclass(frozen=True)
class PageFacts:
    """What the page says beyond the export itself."""

    built_at: str
    tool_version: str
    edition: str | None
    contract_start: str | None
    contract_end: str | None


def e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def render_index(cat: Catalogue, source: ExportSource, proof: VerifyReport,
                 counts: Mapping[str, int], facts: PageFacts) -> str:
    m = source.manifest
    org = m.org_name or m.org_id
    body = "".join([
        f"<h1>{e(cat.t('archive.title', org=org))}</h1>",
        f"<p class=sub>{e(cat.t('archive.subtitle', org_id=m.org_id))}</p>",
        _facts(cat, source, facts), _proof(cat, source, proof), _open(cat),
        _objects(cat, source, counts), _skipped(cat, source)])
    return (f'<!DOCTYPE html><html lang="{e(cat.lang)}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(cat.t('archive.title', org=org))}</title><style>{CSS}</style></head>"
            f"<body>{body}</body></html>\n")


def _facts(cat: Catalogue, source: ExportSource, facts: PageFacts) -> str:
    m = source.manifest
    rows = [("archive.org_name", m.org_name), ("archive.org_id", m.org_id),
            ("archive.edition", facts.edition),
            ("archive.export_started", cat.datetime(m.started_at)),
            ("archive.export_finished", cat.datetime(m.finished_at)),
            ("archive.contract_start", cat.date(facts.contract_start)
             if facts.contract_start else None),
            ("archive.contract_end", cat.date(facts.contract_end)
             if facts.contract_end else None),
            ("archive.built", cat.datetime(facts.built_at)),
            ("archive.tool", f"sfexit {facts.tool_version}")]
    cells = "".join(f"<tr><th>{e(cat.t(key))}</th><td>{e(value)}</td></tr>"
                    for key, value in rows if value)
    return f"<h2>{e(cat.t('archive.facts'))}</h2><table class=facts>{cells}</table>"


def _proof(cat: Catalogue, source: ExportSource, proof: VerifyReport) -> str:
    text = cat.t("archive.proof_ok", objects=cat.number(proof.objects_checked),
                 rows=cat.number(proof.rows), files=cat.number(proof.files_checked),
                 weekly=cat.number(proof.weekly_checked))
    commands = ("bagit.py --validate ARCHIVE\nsfexit archive verify ARCHIVE")
    return (f"<h2>{e(cat.t('archive.proof'))}</h2><p class=ok>{e(text)}</p>"
            f"<p>{e(cat.t('archive.manifest_sha', sha=proof.manifest_sha256))}</p>"
            f"<p>{e(cat.t('archive.proof_check'))}</p><pre><code>{e(commands)}</code></pre>")


def _open(cat: Catalogue) -> str:
    sqlite = (f"sqlite3 {DATABASE_NAME} \"SELECT name, label, rows FROM _sfexit_objects\"\n"
              f"sqlite3 {DATABASE_NAME} \"SELECT Name, OwnerId__username FROM Account\"")
    datasette = (f"pip install datasette\ndatasette -i {DATABASE_NAME} -m metadata.json\n"
                 "# or: sfexit archive serve ARCHIVE")
    return (f"<h2>{e(cat.t('archive.open'))}</h2>"
            f"<p>{e(cat.t('archive.open_sqlite', database=DATABASE_NAME))}</p>"
            f"<pre><code>{e(sqlite)}</code></pre>"
            f"<p>{e(cat.t('archive.open_datasette'))}</p><pre><code>{e(datasette)}</code></pre>"
            f"<p>{e(cat.t('archive.open_files'))}</p>")


def _objects(cat: Catalogue, source: ExportSource, counts: Mapping[str, int]) -> str:
    m = source.manifest
    head = "".join(f"<th{' class=n' if k == 'archive.col_rows' else ''}>{e(cat.t(k))}</th>"
                   for k in ("archive.col_label", "archive.col_name", "archive.col_rows",
                             "archive.col_file"))
    rows = []
    for name in sorted(m.objects):
        label = source.describe(name).get("labelPlural") or name
        rows.append(f"<tr><td>{e(label)}</td><td><code>{e(name)}</code></td>"
                    f"<td class=n>{e(cat.number(counts.get(name, 0)))}</td>"
                    f"<td><code>data/{e(m.objects[name].file)}</code></td></tr>")
    size = sum(f.size for f in m.files.values())
    files = cat.t("archive.files_total", files=cat.number(len(m.files)), size=cat.size(size))
    return (f"<h2>{e(cat.t('archive.objects'))}</h2><p>{e(files)}</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _skipped(cat: Catalogue, source: ExportSource) -> str:
    skipped = sorted(source.manifest.skipped, key=lambda s: s.name)
    if not skipped:
        return f"<h2>{e(cat.t('archive.skipped'))}</h2><p>{e(cat.t('archive.none_skipped'))}</p>"
    rows = "".join(f"<tr><td><code>{e(s.name)}</code></td><td>{e(s.reason)}</td></tr>"
                   for s in skipped)
    return (f"<h2>{e(cat.t('archive.skipped'))}</h2><table><thead><tr>"
            f"<th>{e(cat.t('archive.col_name'))}</th><th>{e(cat.t('archive.col_reason'))}</th>"
            f"</tr></thead><tbody>{rows}</tbody></table>")
