"""The report's stylesheet, inlined into report.html (no external asset may be fetched).

Print rules (CSS Fragmentation, ``break-before``/``break-inside``): every section after the
summary starts on a new page, a table's header repeats on each page and no row is cut in two;
colours are kept when printing (``print-color-adjust``) so failures stay red on paper.
"""

CSS = """
:root { --ink:#1d2733; --muted:#5b6876; --line:#d5dbe1; --bad:#b71c1c; --badbg:#fdecea;
        --ok:#1b5e20; --okbg:#e8f5e9; --plan:#7a4f01; --planbg:#fff4d6; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
       sans-serif; color: var(--ink); margin: 0 auto; max-width: 1100px; padding: 24px 32px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; border-bottom: 2px solid var(--line); padding-bottom: 4px; margin-top: 32px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.sub { color: var(--muted); margin: 0 0 12px; }
.banner { padding: 10px 14px; border-radius: 6px; margin: 10px 0; font-weight: 600; }
.banner.plan { background: var(--planbg); color: var(--plan); border: 1px solid #e8c66a; }
.banner.bad { background: var(--badbg); color: var(--bad); border: 1px solid #f1a9a0; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left;
         vertical-align: top; overflow-wrap: break-word; }
thead th { background: #f3f5f7; font-size: 13px; }
table.facts { width: auto; }
table.facts th { background: none; color: var(--muted); font-weight: normal; padding-left: 0; }
th.n, td.n { text-align: right; white-space: nowrap; }
tr.fail td { background: var(--badbg); color: var(--bad); font-weight: 600; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
              font-size: 12px; overflow-wrap: anywhere; }
table.perms td:nth-child(3) { white-space: nowrap; }
q.verbatim { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
             font-size: 12px; overflow-wrap: anywhere; }
p.ok, ul.ok { color: var(--ok); }
p.bad, ul.bad, li.bad { color: var(--bad); font-weight: 600; }
.cols { display: flex; gap: 32px; flex-wrap: wrap; }
.cols > div { flex: 1 1 300px; }
.box { font-size: 18px; }
figure.timeline { margin: 8px 0; }
table.dates { width: auto; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line);
         padding-top: 8px; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  section { break-before: page; }
  section#summary { break-before: auto; }
  h2, h3 { break-after: avoid; }
  thead { display: table-header-group; }
  tr, figure, .banner { break-inside: avoid; }
  @page { margin: 16mm 14mm; }
}
"""
