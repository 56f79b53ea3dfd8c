"""A sweep's pictures: OUTPUT_DIR/index.html, a static page (no server, no
network: the data is in the page, the images beside it) and a contact sheet.

The page groups the images by unit, each with its label, activation and
parameters; a filter and a sort for each swept parameter; for two or more, a
rows x columns grid per unit like the papers' hyper-parameter figures.  The
URL's hash sets them, e.g. index.html#seed=1&sort=activation&rows=L2&columns=start_lr.
"""
import html
import json
import math
import os

from harness.figures import label_of, read_labels
from prefinput import collage, objectives
from prefinput.environment import setting
from prefinput.files import atomic_path

PAGE = "index.html"
SHEET = "contact_sheet.jpg"
SHEET_COLUMNS = 10


def labels_for(entries, unit_flag="unit"):
    """Each entry's unit label (the value of its `unit_flag`): its ImageNet
    class for an fc8 unit (where the synset file is there), else `<layer>
    <unit>`; a sum of units (--objective) with each fc8 term's class:
    `fc8:980 + fc8:470 (volcano + candle)`; a caption's sentence in words."""
    cache = {}
    labels = []
    for entry in entries:
        params = entry["params"]
        unit = str(params.get(unit_flag))
        layer = params.get("act_layer", params.get("target_layer", "fc8"))
        path = params.get("synset_file", setting("synset_file"))
        if path not in cache:
            cache[path] = read_labels(path) if os.path.isfile(path) else []
        lines = cache[path]
        if "objective" in params:
            labels.append(objective_label(params["objective"], lines))
        elif "sentence" in params:
            labels.append(params["sentence"].replace("_", " "))
        elif layer == "fc8" and unit.isdigit() and int(unit) < len(lines):
            labels.append(f"{unit} {label_of(int(unit), 'synset', lines)}")
        else:
            labels.append(f"{layer} {unit}")
    return labels


def objective_label(text, lines):
    """A sum of units with its fc8 terms' classes, where the synset file names them."""
    objective = objectives.parse(text)
    if not any(term.name == "fc8" and term.unit < len(lines) for term in objective.terms):
        return text
    return "%s (%s)" % (text, objective.named(
        lambda term: label_of(term.unit, "synset", lines) if term.name == "fc8" and term.unit < len(lines) else None))


def write(output_dir, entries, swept, unit_flag="unit"):
    """index.html and contact_sheet.jpg of the finished `entries` (sweep.jsonl's
    records), `swept` the parameters that took several values, `unit_flag`
    the one the images are grouped by."""
    items = [dict(src=entry["files"][0], label=label, activation=entry.get("activation"), params=entry["params"])
             for entry, label in zip(entries, labels_for(entries, unit_flag))]
    with atomic_path(os.path.join(output_dir, PAGE)) as temporary, open(temporary, "w") as f:
        f.write(TEMPLATE.replace("@DATA@", json.dumps({"items": items, "swept": swept, "unitFlag": unit_flag}).replace("</", "<\\/"))
                .replace("@TITLE@", html.escape(os.path.basename(os.path.abspath(output_dir)))))
    if items:
        columns = min(SHEET_COLUMNS, len(items))
        collage.montage([os.path.join(output_dir, item["src"]) for item in items], os.path.join(output_dir, SHEET),
                        tile=(columns, math.ceil(len(items) / columns)), trim=False)


TEMPLATE = r"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>sweep @TITLE@</title>
<style>
body { font: 13px sans-serif; margin: 1em; }
.controls label { margin-right: 1em; }
figure { display: inline-block; margin: 4px; width: 140px; vertical-align: top; }
figure img { width: 128px; height: 128px; object-fit: contain; }
figcaption { font-size: 11px; word-break: break-all; }
.hidden { display: none; }
table.grid td, table.grid th { padding: 2px; text-align: center; }
</style></head>
<body>
<h1>sweep @TITLE@</h1>
<p><a href="contact_sheet.jpg">contact sheet</a></p>
<div class="controls" id="controls"></div>
<div id="gallery"></div>
<script type="application/json" id="data">@DATA@</script>
<script>
"use strict";
const data = JSON.parse(document.getElementById("data").textContent);
const unitFlag = data.unitFlag;
const params = data.swept.filter(p => p !== unitFlag);
const state = {};
function readHash() {
  for (const k of Object.keys(state)) delete state[k];
  for (const part of location.hash.slice(1).split("&")) {
    const [k, v] = part.split("=").map(decodeURIComponent);
    if (k) state[k] = v;
  }
}
function values(p) {
  return [...new Set(data.items.map(it => String(it.params[p])))].sort((a, b) => (+a - +b) || a.localeCompare(b));
}
function select(name, options, title) {
  const label = document.createElement("label");
  label.textContent = title + " ";
  const s = document.createElement("select");
  s.id = "control-" + name;
  for (const [value, text] of options) {
    const o = document.createElement("option");
    o.value = value; o.textContent = text; s.appendChild(o);
  }
  s.value = state[name] || "";
  s.onchange = () => {
    state[name] = s.value;
    location.hash = Object.entries(state).filter(e => e[1]).map(e => e.map(encodeURIComponent).join("=")).join("&");
  };
  label.appendChild(s);
  document.getElementById("controls").appendChild(label);
}
function figure(it) {
  const f = document.createElement("figure");
  f.className = "item";
  f.dataset.params = JSON.stringify(it.params);
  const img = document.createElement("img");
  img.src = it.src; img.alt = it.label; img.loading = "eager";
  const c = document.createElement("figcaption");
  const act = it.activation === null || it.activation === undefined ? "" : " act " + it.activation.toFixed(2);
  c.textContent = it.label + act + (params.length ? " | " : "") + params.map(p => p + "=" + it.params[p]).join(" ");
  f.title = Object.entries(it.params).map(e => e.join("=")).join("\n");  // every flag, on hover
  f.append(img, c);
  return f;
}
function render() {
  const shown = it => params.every(p => !state[p] || String(it.params[p]) === state[p]);
  const key = state.sort;
  const items = data.items.slice().sort((a, b) => {
    if (!key) return 0;
    if (key === "activation") return b.activation - a.activation;  // the highest first
    const x = a.params[key], y = b.params[key];
    return (+x - +y) || String(x).localeCompare(String(y));
  });
  const gallery = document.getElementById("gallery");
  gallery.textContent = "";
  const units = [...new Set(data.items.map(it => String(it.params[unitFlag])))];
  for (const unit of units) {
    const section = document.createElement("section");
    section.className = "unit";
    const mine = items.filter(it => String(it.params[unitFlag]) === unit);
    const h = document.createElement("h2");
    h.textContent = mine[0].label;
    section.appendChild(h);
    const rows = state.rows, columns = state.columns;
    if (rows && columns && rows !== columns) {
      const table = document.createElement("table");
      table.className = "grid";
      const head = table.insertRow();
      head.insertCell().textContent = rows + " \\ " + columns;
      for (const c of values(columns)) head.insertCell().textContent = c;
      for (const r of values(rows)) {
        const tr = table.insertRow();
        tr.insertCell().textContent = r;
        for (const c of values(columns)) {
          const td = tr.insertCell();
          for (const it of mine.filter(it => String(it.params[rows]) === r && String(it.params[columns]) === c)) {
            const f = figure(it);
            if (!shown(it)) f.classList.add("hidden");
            td.appendChild(f);
          }
        }
      }
      section.appendChild(table);
    } else {
      for (const it of mine) {
        const f = figure(it);
        if (!shown(it)) f.classList.add("hidden");
        section.appendChild(f);
      }
    }
    gallery.appendChild(section);
  }
}
readHash();
for (const p of params) select(p, [["", "all"], ...values(p).map(v => [v, v])], p);
select("sort", [["", "as swept"], ["activation", "activation"], ...params.map(p => [p, p])], "sort by");
if (params.length >= 2) {
  select("rows", [["", "-"], ...params.map(p => [p, p])], "rows");
  select("columns", [["", "-"], ...params.map(p => [p, p])], "columns");
}
render();
window.addEventListener("hashchange", () => { readHash(); render(); });
window.addEventListener("load", () => {
  const images = [...document.images];
  document.body.dataset.images = images.length;
  document.body.dataset.loaded = images.filter(img => img.complete && img.naturalWidth > 0).length;
});
</script>
</body></html>
"""
