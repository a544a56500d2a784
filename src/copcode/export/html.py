"""The HTML report: one self-contained file (no network, no external files) with an overview
chart of codes by group, each theme with its definition and exemplar quotes, and every
transcript with its coded passages highlighted by theme; hovering shows the codes, clicking
shows the codes and the evidence in a panel."""

from __future__ import annotations

import json
from html import escape

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
const info = document.getElementById('info');
let current = null;
document.querySelectorAll('mark').forEach(m => m.addEventListener('click', () => {
  if (current) current.classList.remove('on');
  current = m; m.classList.add('on');
  const codes = JSON.parse(m.dataset.codes);
  info.innerHTML = '<h3>' + m.dataset.segment + '</h3>' + codes.map(c =>
    '<p><b>' + c.label + '</b> (' + c.theme + ', ' + c.status + ', score ' + c.score + ')<br>' +
    '<span class="meta">evidence: ' + (c.evidence.join(', ') || '-') + '</span></p>').join('');
}));
const count = document.querySelectorAll('mark').length;
document.getElementById('count').textContent = count + ' coded passages are highlighted; click one to see its codes and evidence.';
// report.html#transcript-P03 shows that transcript alone, with its first coded passage selected
const wanted = document.getElementById(decodeURIComponent(location.hash.slice(1)));
if (wanted && wanted.tagName === 'DETAILS') {
  wanted.open = true;
  wanted.classList.add('keep');
  document.body.classList.add('focus');
  const first = wanted.querySelector('mark');
  if (first) first.click();
}
"""


def report_html(store, codebook, title: str, redactor=None) -> str:
    """The whole report as one HTML string, every passage pseudonymised by `redactor`."""
    from copcode.tables import coding_summary, codings, exemplar_quotes

    everything = codings(store, codebook)
    frame = everything[everything["status"] != "rejected"]
    clean = redactor.redact if redactor else (lambda text: text)
    colour = {t.id: COLOURS[i % len(COLOURS)] for i, t in enumerate(codebook.themes)}
    labels = {c.id: c.label for c in codebook.codes}
    parts = [f"<!doctype html><html lang='en'><meta charset='utf-8'><title>{escape(title)}</title>",
             f"<style>{STYLE}</style><main><h1>{escape(title)}</h1>"]
    people = store.db.execute("SELECT COUNT(*) FROM transcripts").fetchone()[0]
    parts.append(f"<p>{people} transcripts and {frame['segment'].nunique()} coded passages "
                 f"(accepted or suggested). Codebook: {escape(codebook.path)}.</p>")
    parts.append("<nav>" + "".join(f"<a href='#{t.id}'>{escape(t.id)}</a>" for t in codebook.themes) +
                 "<a href='#transcripts'>transcripts</a></nav>")
    parts.append("<h2 id='overview'>Codes by group</h2>" + _chart(frame, codebook, colour))
    summary = coding_summary(store, codebook, {}, everything)
    parts.append(_table(summary[["theme", "code", "segments", "participants"]]))
    for theme in codebook.themes:
        parts.append(f"<h2 id='{theme.id}' style='--c:{colour[theme.id]}'>{escape(theme.label)}</h2>")
        if theme.description:
            parts.append(f"<p class='def'>{escape(theme.description)}</p>")
        quotes = exemplar_quotes(store, codebook, theme.id, limit=0, per_participant=2, frame=everything)
        quotes = redactor.redact_frame(quotes) if redactor else quotes
        for code in theme.codes:
            parts.append(f"<h3>{escape(code.label)}</h3><p class='def'>{escape(code.definition)}</p>")
            for row in quotes[quotes["code"] == code.id].head(4).to_dict("records"):
                parts.append(f"<blockquote style='--c:{colour[theme.id]}'>“{escape(' '.join(row['quote'].split()))}” "
                             f"<span class='who'>({escape(row['participant'])})</span> "
                             f"<span class='meta'>{escape(row['status'])}</span></blockquote>")
    parts.append("<h2 id='transcripts'>Transcripts</h2><p class='legend'>" + "".join(
        f"<span style='--c:{colour[t.id]}'><i></i>{escape(t.id)}</span>" for t in codebook.themes) +
        "</p><p id='count'></p>")
    by_segment: dict[str, list] = {}
    for row in frame.to_dict("records"):
        by_segment.setdefault(row["segment"], []).append(row)
    for t in store.db.execute("SELECT id, text FROM transcripts ORDER BY id"):
        parts.append(f"<details id='transcript-{escape(t['id'])}'><summary>{escape(t['id'])}</summary>")
        segments = {r["id"]: r for r in store.db.execute(
            'SELECT id, start, "end" FROM segments WHERE transcript = ?', (t["id"],))}
        for turn in store.db.execute('SELECT speaker, role, start, "end" FROM turns WHERE transcript = ? ORDER BY idx', (t["id"],)):
            inside = sorted((s for s in segments.values() if turn["start"] <= s["start"] < turn["end"]),
                            key=lambda s: s["start"])
            html, at = [], turn["start"]
            for s in inside:
                rows = by_segment.get(s["id"])
                if not rows:
                    continue
                html.append(escape(clean(t["text"][at:s["start"]])))
                codes = [{"code": r["code"], "label": labels[r["code"]], "theme": r["theme"], "status": r["status"],
                          "score": round(r["score"], 2),
                          "evidence": sorted({e["cue"] for e in json.loads(r["evidence"]) if "cue" in e})} for r in rows]
                hover = "; ".join(f"{c['label']} ({c['status']})" for c in codes)
                html.append(f"<mark style='--c:{colour[rows[0]['theme']]}' title='{escape(hover)}' "
                            f"data-segment='{s['id']}' data-codes='{escape(json.dumps(codes))}'>"
                            f"{escape(clean(t['text'][s['start']:s['end']]))}</mark>")
                at = s["end"]
            html.append(escape(clean(t["text"][at:turn["end"]])))
            parts.append(f"<p class='turn {turn['role']}'><span class='speaker'>{escape(turn['speaker'])}:</span> "
                         f"{''.join(html)}</p>")
        parts.append("</details>")
    parts.append("</main><aside id='info'><p>Click a highlighted passage to see its codes and "
                 f"the evidence for them.</p></aside><script>{SCRIPT}</script></html>")
    return "".join(parts)


def _chart(frame, codebook, colour) -> str:
    """Horizontal bars: for each code, the passages per group, as inline SVG."""
    groups = sorted(g for g in frame["group"].unique() if g)
    counts = frame.groupby(["code", "group"])["segment"].nunique()
    top = max([int(v) for v in counts.values] + [1])
    bar, gap, left, width = 12, 10, 230, 380
    rows = []
    y = 20
    rows.append(f"<text x='{left}' y='12' font-size='12'>passages per group, one bar each: "
                f"{escape(', '.join(groups))}</text>")
    shade = {g: 0.35 + 0.65 * (i + 1) / len(groups) for i, g in enumerate(groups)}
    for code in codebook.codes:
        theme = codebook.theme_of(code.id).id
        rows.append(f"<text x='{left - 8}' y='{y + bar * len(groups) / 2 + 4}' text-anchor='end' "
                    f"font-size='12'>{escape(code.id)}</text>")
        for g in groups:
            n = int(counts.get((code.id, g), 0))
            rows.append(f"<rect x='{left}' y='{y}' width='{width * n / top:.1f}' height='{bar - 2}' "
                        f"fill='{colour[theme]}' fill-opacity='{shade[g]:.2f}'><title>{escape(code.id)}, "
                        f"{escape(g)}: {n}</title></rect><text x='{left + width * n / top + 4:.1f}' "
                        f"y='{y + bar - 3}' font-size='10'>{escape(g)} {n}</text>")
            y += bar
        y += gap
    return f"<svg role='img' aria-label='codes by group' width='{left + width + 60}' height='{y}'>{''.join(rows)}</svg>"


def _table(frame) -> str:
    head = "".join(f"<th>{escape(str(c))}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>"
                   for row in frame.itertuples(index=False))
    return f"<table><tr>{head}</tr>{body}</table>"
