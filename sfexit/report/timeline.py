"""The contract dates as an inline SVG bar (no script, prints as vectors), plus the same dates
as a table for screen readers and for copying.

Labels are placed on rows below the bar so that two close dates (the deadline and the renewal
window often fall on the same day) never overlap: greedy, left to right, first free row.
"""

from __future__ import annotations

import datetime as dt

from sfexit.report.i18n import Catalogue
from sfexit.report.model import ContractInfo, Milestone

WIDTH, LEFT, RIGHT = 1000, 20, 980
BAR_Y, BAR_H, ROW_H = 24, 14, 38
# A white outline under each label keeps it readable where another date's marker line crosses.
HALO = ' paint-order="stroke" stroke="#fff" stroke-width="6" stroke-linejoin="round"'
LABEL_KEYS = {"start": "report.ms_start", "full-refund-end": "report.ms_full_refund",
              "recommended-notice": "report.ms_recommended",
              "notice-deadline": "report.ms_deadline", "renewal-window-start": "report.ms_window",
              "today": "report.ms_today", "end": "report.ms_end",
              "renewal-term-end": "report.ms_renewed_end", "effective": "report.ms_effective"}
COLOURS = {"today": "#c62828", "notice-deadline": "#e65100", "recommended-notice": "#2e7d32",
           "renewal-window-start": "#b58900", "end": "#1565c0", "start": "#455a64",
           "full-refund-end": "#6a1b9a", "renewal-term-end": "#37474f", "effective": "#ad1457"}


def milestones(c: ContractInfo) -> list[Milestone]:
    """The run's timeline, or one made from the contract's fields when run.json has none."""
    known = [m for m in c.milestones if m.kind in LABEL_KEYS]
    if known:
        return known
    made = [Milestone("start", c.start), Milestone("recommended-notice",
                                                   c.recommended_notice_date),
            Milestone("notice-deadline", c.notice_deadline),
            Milestone("renewal-window-start", c.renewal_window_start),
            Milestone("today", c.on), Milestone("end", c.end)]
    return sorted((m for m in made if m.date), key=lambda m: m.date)


def _day(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def timeline_svg(c: ContractInfo, cat: Catalogue) -> str:
    from sfexit.report.render import e

    points = [(m, d) for m in milestones(c) if (d := _day(m.date)) is not None]
    if not points:
        return ""
    first = min(d for _, d in points)
    span = max((max(d for _, d in points) - first).days, 1)

    def x(day: dt.date) -> float:
        return LEFT + (RIGHT - LEFT) * (day - first).days / span

    parts = [f'<rect x="{LEFT}" y="{BAR_Y}" width="{RIGHT - LEFT}" height="{BAR_H}" '
             'rx="3" fill="#e3e8ee"/>']
    start, end, today = _day(c.start), _day(c.end), _day(c.on)
    if start and today and today > start:
        parts.append(f'<rect x="{x(start):.1f}" y="{BAR_Y}" '
                     f'width="{max(x(min(today, end or today)) - x(start), 0):.1f}" '
                     f'height="{BAR_H}" fill="#90a4ae"/>')
    ws, we = _day(c.renewal_window_start), _day(c.renewal_window_end)
    if ws and we:
        parts.append(f'<rect x="{x(ws):.1f}" y="{BAR_Y}" width="{max(x(we) - x(ws), 2):.1f}" '
                     f'height="{BAR_H}" fill="#ffcc80"/>')
    rows: list[list[tuple[float, float]]] = []
    # Every marker line first, every label after: a label then lies over the lines that pass
    # behind it (its halo masks them) instead of being cut by a later marker's line.
    lines: list[str] = []
    labels: list[str] = []
    for m, day in points:
        label, when = cat.t(LABEL_KEYS[m.kind]), cat.date(day, "medium")
        width = 7.6 * max(len(label), len(when)) + 10
        px = x(day)
        anchor_end = px + width > RIGHT + 15
        span_x = (px - width, px) if anchor_end else (px, px + width)
        row = next((i for i, used in enumerate(rows)
                    if all(span_x[1] < a or span_x[0] > b for a, b in used)), len(rows))
        if row == len(rows):
            rows.append([])
        rows[row].append(span_x)
        colour = COLOURS.get(m.kind, "#333")
        y = BAR_Y + BAR_H + 14 + row * ROW_H
        anchor = "end" if anchor_end else "start"
        dx = -3 if anchor_end else 3
        weight = ' font-weight="bold"' if m.kind in ("today", "notice-deadline") else ""
        lines.append(f'<line x1="{px:.1f}" y1="{BAR_Y - 6}" x2="{px:.1f}" y2="{y + 16}" '
                     f'stroke="{colour}" stroke-width="2"/>')
        # a white box behind the label hides the lines of later dates that pass under it
        box_x = px - width + 7 if anchor_end else px + 2
        labels.append(f'<rect x="{box_x:.1f}" y="{y - 12}" width="{width - 9:.1f}" '
                      'height="31" fill="#fff"/>')
        labels.append(f'<text x="{px + dx:.1f}" y="{y}" text-anchor="{anchor}" fill="{colour}"'
                      f'{weight}{HALO}>{e(label)}</text>'
                      f'<text x="{px + dx:.1f}" y="{y + 15}" text-anchor="{anchor}" '
                      f'fill="#333"{HALO}>{e(when)}</text>')
    parts += lines + labels
    height = BAR_Y + BAR_H + 30 + len(rows) * ROW_H
    title = e(cat.t("report.section_contract"))
    table = "".join(f"<tr><td>{e(cat.date(day))}</td><td>{e(cat.t(LABEL_KEYS[m.kind]))}</td></tr>"
                    for m, day in points)
    return (f'<figure class="timeline"><svg xmlns="http://www.w3.org/2000/svg" role="img" '
            f'aria-label="{title}" viewBox="0 0 {WIDTH} {height}" width="100%" '
            f'font-family="sans-serif" font-size="13">{"".join(parts)}</svg></figure>'
            f'<table class="dates"><thead><tr><th>{e(cat.t("report.col_date"))}</th>'
            f'<th>{e(cat.t("report.col_what"))}</th></tr></thead><tbody>{table}</tbody></table>')
