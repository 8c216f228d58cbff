// GET /: the playground, a self-contained page (inline CSS and vanilla JS, no
// CDN: servers often run offline). It reads /v1/models and /v1/adapters, builds
// a composition, calls /v1/predict and draws each task's answer, and for fused
// compositions a heatmap of the fusion attention (layer × location × adapter).
// The script avoids template literals and backslashes: it lives in one.

export const PLAYGROUND_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>polyhead playground</title>
<style>
  body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #222; background: #fafafa; }
  header { background: #223; color: #fff; padding: .6rem 1.2rem; } header h1 { margin: 0; font-size: 18px; }
  header a { color: #9cf; margin-left: 1rem; font-size: 13px; }
  main { display: grid; grid-template-columns: 22rem 1fr; gap: 1rem; padding: 1rem 1.2rem; }
  section { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .7rem .9rem; margin-bottom: 1rem; }
  h2 { font-size: 15px; margin: 0 0 .5rem; }
  label.f { display: block; font-weight: 600; margin: .5rem 0 .2rem; }
  textarea, input[type=text], select { width: 100%; box-sizing: border-box; font: inherit; padding: .3rem; }
  #adapter-list label { display: block; } #adapter-list small { color: #777; }
  button#run { margin-top: .8rem; padding: .4rem 1.4rem; font: inherit; font-weight: 600; background: #06c; color: #fff; border: 0; border-radius: 4px; cursor: pointer; }
  #status { color: #666; margin-left: .6rem; } #status.error { color: #b00; }
  pre#composition { background: #f4f4f4; padding: .4rem; font-size: 12px; white-space: pre-wrap; }
  .result h3 { font-size: 14px; margin: 0 0 .4rem; } .result h3 small { color: #777; font-weight: 400; }
  .row { margin-bottom: .6rem; }
  .bar-row { display: grid; grid-template-columns: 8rem 1fr 4rem; gap: .4rem; align-items: center; margin: 2px 0; }
  .bar-track { background: #eef; height: 14px; border-radius: 3px; overflow: hidden; }
  .bar { background: #69c; height: 100%; } .bar.top, .bar.on { background: #06c; }
  .pct { text-align: right; font-variant-numeric: tabular-nums; }
  .value { font-size: 18px; font-weight: 600; }
  .tagged { line-height: 2.6; }
  .tok { display: inline-block; position: relative; border-bottom: 2px solid #aaa; padding: 0 1px; line-height: 1.3; }
  .tok .tag { display: block; font-size: 10px; color: #555; text-align: center; }
  .tok.ent { border-color: #c60; background: #fff3e0; } .tok.ent .tag { color: #c60; font-weight: 600; }
  mark.answer { background: #ffe066; padding: 0 2px; }
  table.heatmap, table.token-heatmap { border-collapse: collapse; margin: .4rem 0; }
  .heatmap th, .heatmap td, .token-heatmap th, .token-heatmap td { border: 1px solid #ddd; padding: .2rem .5rem; text-align: center; font-size: 12px; }
  .heatmap td, .token-heatmap td { min-width: 5rem; font-variant-numeric: tabular-nums; }
  #adapters-panel table { border-collapse: collapse; width: 100%; font-size: 12px; }
  #adapters-panel td, #adapters-panel th { border-bottom: 1px solid #eee; padding: .15rem .4rem; text-align: left; vertical-align: top; }
</style>
</head>
<body>
<header><h1>polyhead playground <a href="/docs">API docs</a></h1></header>
<main>
<div>
<section id="input-panel">
  <h2>Input</h2>
  <label class="f" for="model">Model</label>
  <select id="model"></select>
  <label class="f" for="text">Text</label>
  <textarea id="text" rows="3">what a wonderful film</textarea>
  <label class="f" for="text-b">Second text (optional: a pair; the context for QA)</label>
  <textarea id="text-b" rows="2"></textarea>
  <label class="f" for="mode">Composition</label>
  <select id="mode">
    <option value="single">single</option>
    <option value="stack">stack</option>
    <option value="parallel">parallel</option>
    <option value="fuse">fuse</option>
  </select>
  <label class="f">Adapters <small>(in the order checked)</small></label>
  <div id="adapter-list"></div>
  <div id="fusion-field"><label class="f" for="fusion">Fusion name (optional, fuse only)</label>
  <input type="text" id="fusion" placeholder="found by its adapters when empty"></div>
  <pre id="composition"></pre>
  <button id="run" type="button">Run</button><span id="status"></span>
</section>
</div>
<div>
<section id="results-panel"><h2>Results</h2><div id="results"><p class="empty">Press Run.</p></div></section>
<section id="fusion-panel" hidden><h2>Fusion attention</h2>
  <p>Mean weight of each adapter over the input's real tokens, per layer and location.</p>
  <div id="heatmap"></div>
  <label class="f" for="token-select">Per token</label>
  <select id="token-select"></select>
  <div id="token-view"></div>
</section>
<section id="adapters-panel"><h2>Adapters</h2><div id="adapters-table"></div></section>
</div>
</main>
<script>
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var order = [];
  var adapters = [];
  var lastFusion = null;

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function status(msg, err) { var s = $("status"); s.textContent = msg; s.className = err ? "error" : ""; }
  function getJSON(url) {
    return fetch(url).then(function (r) { return r.json().then(function (j) { if (!r.ok) throw new Error(j.detail || r.statusText); return j; }); });
  }
  function pct(x) { return (x * 100).toFixed(1) + "%"; }

  function composition() {
    var mode = $("mode").value;
    var names = order.slice();
    if (!names.length) return undefined;
    if (mode === "single") return names[0];
    if (mode === "fuse") {
      var c = { fuse: names };
      var f = $("fusion").value.trim();
      if (f) c.fusion = f;
      return c;
    }
    var o = {}; o[mode] = names; return o;
  }
  function isFused(c) {
    if (!c || typeof c !== "object") return false;
    if (c.fuse) return true;
    for (var k in c) if (Array.isArray(c[k])) for (var i = 0; i < c[k].length; i++) if (isFused(c[k][i])) return true;
    return false;
  }
  function fuseList(c) {
    if (!c || typeof c !== "object") return null;
    if (c.fuse) return c.fuse;
    for (var k in c) if (Array.isArray(c[k])) for (var i = 0; i < c[k].length; i++) { var f = fuseList(c[k][i]); if (f) return f; }
    return null;
  }
  function showComposition() {
    $("fusion-field").hidden = $("mode").value !== "fuse";
    var c = composition();
    $("composition").textContent = c === undefined ? "(check adapters)" : JSON.stringify(c);
  }

  function renderAdapters() {
    var list = $("adapter-list"); list.textContent = "";
    var table = el("table"); var head = el("tr");
    ["name", "type", "head", "labels", "fusions"].forEach(function (h) { head.appendChild(el("th", null, h)); });
    table.appendChild(head);
    adapters.forEach(function (a) {
      var lab = el("label");
      var cb = el("input", { type: "checkbox", value: a.name, "data-adapter": a.name });
      if (a.supported === false) cb.disabled = true;
      cb.addEventListener("change", function () {
        order = order.filter(function (n) { return n !== a.name; });
        if (cb.checked) order.push(a.name);
        showComposition();
      });
      lab.appendChild(cb);
      lab.appendChild(document.createTextNode(" " + a.name + " "));
      lab.appendChild(el("small", null, a.head ? a.head.type : "no head"));
      list.appendChild(lab);
      var tr = el("tr", { class: "adapter-info", "data-adapter": a.name, "data-type": a.type, "data-head-type": a.head ? a.head.type : "" });
      tr.appendChild(el("td", null, a.name));
      tr.appendChild(el("td", null, a.type));
      tr.appendChild(el("td", null, a.head ? a.head.type : "none"));
      tr.appendChild(el("td", null, a.head && a.head.labels ? a.head.labels.join(", ") : ""));
      tr.appendChild(el("td", null, (a.fusions || []).join(", ")));
      table.appendChild(tr);
    });
    var t = $("adapters-table"); t.textContent = ""; t.appendChild(table);
  }

  function bars(container, scores, top, on) {
    Object.keys(scores).forEach(function (label) {
      var s = scores[label];
      var row = el("div", { class: "bar-row" });
      row.appendChild(el("span", { class: "bar-label" }, label));
      var track = el("div", { class: "bar-track" });
      var cls = "bar" + (label === top ? " top" : "") + (on && on.indexOf(label) >= 0 ? " on" : "");
      var bar = el("div", { class: cls, "data-label": label, "data-score": s, title: label + ": " + s });
      bar.style.width = (s * 100) + "%";
      track.appendChild(bar);
      row.appendChild(track);
      row.appendChild(el("span", { class: "pct" }, pct(s)));
      container.appendChild(row);
    });
  }

  function tagged(container, text, tokens) {
    var box = el("div", { class: "tagged" });
    var pos = 0;
    tokens.forEach(function (t) {
      if (t.start > pos) box.appendChild(document.createTextNode(text.slice(pos, t.start)));
      var span = el("span", { class: "tok" + (t.label !== "O" ? " ent" : ""), "data-token": t.token, "data-label": t.label, "data-start": t.start, "data-end": t.end, "data-score": t.score, title: t.label + " (" + pct(t.score) + ")" });
      span.appendChild(document.createTextNode(text.slice(t.start, t.end) || t.token));
      span.appendChild(el("span", { class: "tag" }, t.label));
      box.appendChild(span);
      pos = Math.max(pos, t.end);
    });
    if (pos < text.length) box.appendChild(document.createTextNode(text.slice(pos)));
    container.appendChild(box);
  }

  function renderResult(r, i, texts) {
    var sec = el("div", { class: "result", "data-name": r.name, "data-index": i, "data-type": r.type, "data-head": r.head });
    var h = el("h3", null, r.name + " ");
    h.appendChild(el("small", null, r.type + (r.head ? " · head " + r.head : "")));
    sec.appendChild(h);
    (r.outputs || []).forEach(function (o) {
      var row = el("div", { class: "row" });
      if (r.type === "classification") bars(row, o.scores, o.label);
      else if (r.type === "multilabel_classification") bars(row, o.scores, null, o.labels);
      else if (r.type === "regression") row.appendChild(el("span", { class: "value", "data-value": o.value }, Number(o.value).toFixed(4)));
      else if (r.type === "tagging") tagged(row, texts.a, o.tokens);
      else if (r.type === "question_answering") {
        var ctx = texts.b || texts.a, a = o.answer;
        var p = el("p", { class: "qa" });
        p.appendChild(document.createTextNode(ctx.slice(0, a.start)));
        p.appendChild(el("mark", { class: "answer", "data-start": a.start, "data-end": a.end, "data-score": a.score, title: pct(a.score) }, ctx.slice(a.start, a.end)));
        p.appendChild(document.createTextNode(ctx.slice(a.end)));
        row.appendChild(p);
        row.appendChild(el("div", { class: "answer-text" }, "answer: " + a.text + " (" + pct(a.score) + ")"));
      } else row.appendChild(el("pre", null, JSON.stringify(o).slice(0, 400)));
      sec.appendChild(row);
    });
    return sec;
  }

  function rowsOf(fa) {
    var rows = [];
    Object.keys(fa).sort(function (x, y) { return Number(x) - Number(y); }).forEach(function (layer) {
      Object.keys(fa[layer]).sort().forEach(function (loc) { rows.push({ layer: layer, location: loc, m: fa[layer][loc] }); });
    });
    return rows;
  }
  function shade(v) { return "rgba(0, 102, 204, " + Math.max(0, Math.min(1, v)).toFixed(3) + ")"; }
  function cell(v, attrs) {
    var td = el("td", attrs, v.toFixed(3));
    td.setAttribute("data-value", String(v));
    td.title = attrs["data-adapter"] + " @ layer " + attrs["data-layer"] + " " + attrs["data-location"] + ": " + v;
    td.style.background = shade(v);
    td.style.color = v > 0.55 ? "#fff" : "#000";
    return td;
  }
  function table(cls, names, rows, valueOf) {
    var t = el("table", { class: cls });
    var h = el("tr"); h.appendChild(el("th", null, "layer"));  h.appendChild(el("th", null, "location"));
    names.forEach(function (n) { h.appendChild(el("th", { "data-adapter": n }, n)); });
    t.appendChild(h);
    rows.forEach(function (r) {
      var tr = el("tr", { "data-layer": r.layer, "data-location": r.location });
      tr.appendChild(el("th", null, r.layer)); tr.appendChild(el("th", null, r.location));
      names.forEach(function (n, j) { tr.appendChild(cell(valueOf(r.m, j), { "data-layer": r.layer, "data-location": r.location, "data-adapter": n })); });
      t.appendChild(tr);
    });
    return t;
  }
  function renderFusion(fa, names) {
    lastFusion = { fa: fa, names: names, rows: rowsOf(fa) };
    $("fusion-panel").hidden = false;
    var hm = $("heatmap"); hm.textContent = "";
    hm.appendChild(table("heatmap", names, lastFusion.rows, function (m, j) {
      var s = 0; for (var i = 0; i < m.length; i++) s += m[i][j]; return m.length ? s / m.length : 0;
    }));
    var sel = $("token-select"); sel.textContent = "";
    var n = lastFusion.rows.length ? lastFusion.rows[0].m.length : 0;
    for (var i = 0; i < n; i++) sel.appendChild(el("option", { value: i }, "token " + i + (i === 0 ? " ([CLS])" : i === n - 1 ? " ([SEP])" : "")));
    renderToken();
  }
  function renderToken() {
    var tv = $("token-view"); tv.textContent = "";
    if (!lastFusion) return;
    var k = Number($("token-select").value || 0);
    var t = table("token-heatmap", lastFusion.names, lastFusion.rows, function (m, j) { return m[k] ? m[k][j] : 0; });
    t.setAttribute("data-token", k);
    tv.appendChild(t);
  }

  function run() {
    var c = composition();
    var a = $("text").value, b = $("text-b").value;
    var input = b.trim() ? [a, b] : a;
    var fused = isFused(c);
    var body = { model: $("model").value, inputs: [input], tasks: [{ name: "playground", adapters: c === undefined ? null : c }], options: { return_fusion_attention: fused } };
    status("running…");
    $("run").disabled = true;
    document.body.removeAttribute("data-ready");
    fetch("/v1/predict", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, j: j }; }); })
      .then(function (res) {
        var out = $("results"); out.textContent = "";
        $("fusion-panel").hidden = true; lastFusion = null;
        if (!res.ok) { status((res.j.title || "error") + ": " + (res.j.detail || ""), true); out.appendChild(el("pre", { class: "problem" }, JSON.stringify(res.j, null, 2))); return; }
        res.j.results.forEach(function (r, i) {
          out.appendChild(renderResult(r, i, { a: a, b: b.trim() ? b : "" }));
          var o = r.outputs && r.outputs[0];
          if (!lastFusion && o && o.fusion_attention) renderFusion(o.fusion_attention, fuseList(c) || []);
        });
        status("done");
      })
      .catch(function (e) { status(String(e), true); })
      .then(function () { $("run").disabled = false; document.body.setAttribute("data-ready", "1"); });
  }

  $("mode").addEventListener("change", showComposition);
  $("fusion").addEventListener("input", showComposition);
  $("token-select").addEventListener("change", renderToken);
  $("run").addEventListener("click", run);
  showComposition();
  Promise.all([getJSON("/v1/models"), getJSON("/v1/adapters")]).then(function (v) {
    var sel = $("model");
    v[0].models.forEach(function (m) { sel.appendChild(el("option", { value: m.name }, m.name + (m.supported === false ? " (unsupported)" : ""))); });
    adapters = v[1].adapters;
    renderAdapters();
    document.body.setAttribute("data-loaded", "1");
  }).catch(function (e) { status("could not load the store: " + e, true); });
})();
</script>
</body>
</html>
`;
