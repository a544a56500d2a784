"""The HTML report: one self-contained file (no network, no external files) with an overview
chart of codes by group, each theme with its definition and exemplar quotes, and every
transcript with its coded passages highlighted by theme; hovering shows the codes, clicking
shows the codes and the evidence in a panel.

Every string from the project (transcripts, codebook, participants, coder names, imported
files) is text, never markup: the page is a jinja2 template with autoescaping, the data the
script needs is a JSON block (`tojson`, which escapes `<`, `>`, `&` and `'`), and the script
builds the panel with `textContent`. A Content-Security-Policy lets only the report's own
script run (by its sha256) and loads nothing from anywhere."""

from __future__ import annotations

import base64
import hashlib
from html import escape

from markupsafe import Markup

from copcode.export.refi import COLOURS

STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#222;display:grid;grid-template-columns:1fr 320px}
main{padding:1.5rem 2rem;max-width:60rem}aside{position:sticky;top:0;height:100vh;overflow:auto;
background:#f6f6f4;border-left:1px solid #ddd;padding:1rem;font-size:14px}
h1{font-size:1.6rem}h2{margin-top:2rem;border-bottom:2px solid #ddd}h3{margin-bottom:.2rem}
.def{color:#555;margin-top:0}blockquote{margin:.6rem 0 .6rem 1rem;padding-left:.8rem;border-left:4px solid var(--c)}
.who{font-weight:600}.meta{color:#777;font-size:12px}.turn{margin:.4rem 0}.speaker{font-weight:600}
.interviewer{color:#666}mark{background:color-mix(in srgb,var(--c) 25%,white);cursor:pointer;border-bottom:2px solid var(--c)}
mark.on{outline:2px solid #222}.legend span{display:inline-block;margin-right:1rem}
.legend i{display:inline-block;width:.8rem;height:.8rem;background:var(--c);margin-right:.3rem}
nav a{margin-right:.6rem}details{margin:.4rem 0}body.focus main>:not(.keep):not(h1){display:none}
"""

SCRIPT = """
(() => {
const passages = JSON.parse(document.getElementById('report-data').textContent);
const info = document.getElementById('info');
let current = null;
function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}
function show(mark) {
  if (current) current.classList.remove('on');
  current = mark; mark.classList.add('on');
  const passage = Object.hasOwn(passages, mark.dataset.segment) ? passages[mark.dataset.segment] : {codes: []};
  info.replaceChildren(element('h3', mark.dataset.segment));
  for (const c of passage.codes) {
    const p = element('p');
    p.append(element('b', c.label), ' (' + c.theme + ', ' + c.status + ', score ' + c.score + ')',
             element('br'), element('span', 'evidence: ' + (c.evidence.join(', ') || '-'), 'meta'));
    info.append(p);
  }
}
document.querySelectorAll('mark').forEach(m => m.addEventListener('click', () => show(m)));
const count = document.querySelectorAll('mark').length;
document.getElementById('count').textContent = count + ' coded passages are highlighted; click one to see its codes and evidence.';
// report.html#transcript-P03 shows that transcript alone, with its first coded passage selected
let wanted = null;
try { wanted = document.getElementById(decodeURIComponent(location.hash.slice(1))); } catch (e) { wanted = null; }
if (wanted && wanted.tagName === 'DETAILS') {
  wanted.open = true;
  wanted.classList.add('keep');
  document.body.classList.add('focus');
  const first = wanted.querySelector('mark');
  if (first) show(first);
}
})();
"""

SCRIPT_HASH = base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8")).digest()).decode("ascii")
# Only the script above runs; styles are inline (the --c colour of each theme); nothing loads.
CSP = (f"default-src 'none'; script-src 'sha256-{SCRIPT_HASH}'; style-src 'unsafe-inline'; "
       "img-src data:; base-uri 'none'; form-action 'none'")

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<title>{{ title }}</title><style>{{ style }}</style></head>
<body><main><h1>{{ title }}</h1>
<p>{{ people }} transcripts and {{ passages }} coded passages (accepted or suggested). Codebook: {{ codebook_path }}.</p>
<nav>{% for theme in themes %}<a href="#{{ theme.id }}">{{ theme.id }}</a>{% endfor %}<a href="#transcripts">transcripts</a></nav>
<h2 id="overview">{{ "Codes by group" if grouped else "Codes" }}</h2>{{ chart }}
<table><tr>{% for column in summary.columns %}<th>{{ column }}</th>{% endfor %}</tr>
{% for row in summary.rows %}<tr>{% for value in row %}<td>{{ value }}</td>{% endfor %}</tr>{% endfor %}</table>
{% for theme in themes %}
<h2 id="{{ theme.id }}" style="--c:{{ theme.colour }}">{{ theme.label }}</h2>
{% if theme.description %}<p class="def">{{ theme.description }}</p>{% endif %}
{% for code in theme.codes %}<h3>{{ code.label }}</h3><p class="def">{{ code.definition }}</p>
{% for q in code.quotes %}<blockquote style="--c:{{ theme.colour }}">“{{ q.quote }}” <span class="who">({{ q.participant }})</span> <span class="meta">{{ q.status }}</span></blockquote>
{% endfor %}{% endfor %}{% endfor %}
<h2 id="transcripts">Transcripts</h2><p class="legend">{% for theme in themes %}<span style="--c:{{ theme.colour }}"><i></i>{{ theme.id }}</span>{% endfor %}</p><p id="count"></p>
{% for t in transcripts %}<details id="transcript-{{ t.id }}"><summary>{{ t.id }}</summary>
{% for turn in t.turns %}<p class="turn {{ turn.role }}"><span class="speaker">{{ turn.speaker }}:</span> {% for piece in turn.pieces %}{% if piece.segment is defined %}<mark style="--c:{{ piece.colour }}" title="{{ piece.title }}" data-segment="{{ piece.segment }}">{{ piece.text }}</mark>{% else %}{{ piece.text }}{% endif %}{% endfor %}</p>
{% endfor %}</details>
{% endfor %}</main>
<aside id="info"><p>Click a highlighted passage to see its codes and the evidence for them.</p></aside>
<script type="application/json" id="report-data">{{ data|tojson }}</script>
<script>{{ script }}</script></body></html>
"""


QUOTES_PER_THEME = 10  # as `copcode quotes --theme T` shows them (its default --limit)


def report_html(view, title: str, redactor) -> str:
    """The whole report (of a tables.ProjectView) as one HTML string; every text from the
    project goes through `redactor` (privacy.Redactor; `privacy.IDENTITY` to change nothing)
    and is escaped. Each theme shows the quotes `copcode quotes --theme T` shows (the same
    selection: every code of the theme its fair share), under its code."""
    import jinja2

    from copcode.tables import coding_summary, evidence_shown, exemplar_quotes

    store, codebook = view.store, view.codebook
    current = view.current()
    shown = redactor.redact_codebook(codebook)
    colour = {t.id: COLOURS[i % len(COLOURS)] for i, t in enumerate(codebook.themes)}
    labels = {c.id: c.label for c in shown.codes}
    summary = coding_summary(view, {})
    themes = []
    for theme in shown.themes:
        quotes = redactor.redact_frame(exemplar_quotes(view, theme.id, limit=QUOTES_PER_THEME)).to_dict()
        themes.append({
            "id": theme.id, "label": theme.label, "description": theme.description, "colour": colour[theme.id],
            "codes": [{"label": code.label, "definition": code.definition,
                       "quotes": [{"quote": " ".join(row["quote"].split()), "participant": row["participant"],
                                   "status": row["status"]}
                                  for row in quotes if row["code"] == code.id]}
                      for code in theme.all_codes]})
    by_segment: dict[str, list] = {}
    for c in current:
        by_segment.setdefault(c.segment, []).append(c)
    spans = store.segment_spans()
    passages, transcripts = {}, []
    for t in store.transcript_rows():
        text = t["text"]
        segments = sorted(spans.get(t["id"], []), key=lambda s: s[1])
        turns = []
        for turn in store.turns_of(t["id"]):
            inside = [s for s in segments if turn["start"] <= s[1] < turn["end"]]
            pieces, at = [], turn["start"]
            for segment_id, start, end in inside:
                rows = by_segment.get(segment_id)
                if not rows:
                    continue
                # each slice is redacted with the whole transcript's identifiers, so a name
                # cut at a segment's edge is still replaced
                pieces.append({"text": redactor.redact_slice(text, at, start)})
                codes = [{"code": r.code, "label": labels[r.code], "theme": r.theme,
                          "status": redactor.redact_names(r.shown_status), "score": round(r.score, 2),
                          "evidence": [redactor.redact(e) for e in
                                       evidence_shown(r.evidence_list(), redactor.hider(text, start, end))]}
                         for r in rows]
                passages[segment_id] = {"codes": codes}
                pieces.append({"segment": segment_id, "colour": colour[rows[0].theme],
                               "title": "; ".join(f"{c['label']} ({c['status']})" for c in codes),
                               "text": redactor.redact_slice(text, start, end)})
                at = end
            pieces.append({"text": redactor.redact_slice(text, at, turn["end"])})
            turns.append({"role": turn["role"], "speaker": redactor.speaker(turn, t), "pieces": pieces})
        transcripts.append({"id": t["id"], "turns": turns})
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return environment.from_string(TEMPLATE).render(
        csp=CSP, title=redactor.redact(title), style=Markup(STYLE), script=Markup(SCRIPT),
        people=len(transcripts), passages=len(by_segment), codebook_path=shown.path,
        themes=themes, chart=Markup(_chart(current, codebook, colour, redactor)),
        grouped=any(c.group for c in current),
        summary={"columns": list(summary.columns), "rows": [list(map(str, r)) for r in summary.itertuples(index=False)]},
        transcripts=transcripts, data=passages)


def _chart(codings, codebook, colour, redactor) -> str:
    """Horizontal bars: for each code, the passages per group (or, in a project without
    groups, in all), as inline SVG. Every value that came from the project is escaped here
    (quotes too)."""
    groups = sorted({c.group for c in codings if c.group}) or [""]
    passages: dict[tuple[str, str], set[str]] = {}
    for c in codings:
        passages.setdefault((c.code, c.group), set()).add(c.segment)
    counts = {key: len(segments) for key, segments in passages.items()}
    top = max(list(counts.values()) + [1])
    bar, gap, left, width = 12, 10, 230, 380
    rows = []
    y = 20
    rows.append(f"<text x='{left}' y='12' font-size='12'>passages per group, one bar each: "
                f"{escape(redactor.redact(', '.join(groups)))}</text>" if groups != [""] else
                f"<text x='{left}' y='12' font-size='12'>passages per code (no coded passage is in a group)</text>")
    shade = {g: 0.35 + 0.65 * (i + 1) / len(groups) for i, g in enumerate(groups)}
    for code in codebook.codes:
        theme = codebook.theme_of(code.id).id
        rows.append(f"<text x='{left - 8}' y='{y + bar * len(groups) / 2 + 4}' text-anchor='end' "
                    f"font-size='12'>{escape(code.id)}</text>")
        for g in groups:
            n = int(counts.get((code.id, g), 0))
            shown = escape(redactor.redact(g))
            title = f"{escape(code.id)}, {shown}: {n}" if shown else f"{escape(code.id)}: {n}"
            rows.append(f"<rect x='{left}' y='{y}' width='{width * n / top:.1f}' height='{bar - 2}' "
                        f"fill='{colour[theme]}' fill-opacity='{shade[g]:.2f}'><title>{title}</title></rect>"
                        f"<text x='{left + width * n / top + 4:.1f}' y='{y + bar - 3}' font-size='10'>"
                        f"{f'{shown} ' if shown else ''}{n}</text>")
            y += bar
        y += gap
    return f"<svg role='img' aria-label='codes by group' width='{left + width + 60}' height='{y}'>{''.join(rows)}</svg>"
