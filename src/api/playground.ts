// GET /: the playground, a self-contained page (inline CSS and vanilla JS, no
// CDN: servers often run offline). It reads /v1/models and /v1/adapters, builds
// a composition, calls /v1/predict and draws each task's answer, and for fused
// compositions a heatmap of the fusion attention (layer × location × adapter).
// Its translation view (#translate) does the same for encoder-decoder models
// with /v1/generate: a translation per input line and branch, beam scores, and
// for fused compositions a heatmap per decoder layer of the attention each
// generated token gave the fused adapters.
// The script avoids template literals and backslashes: it lives in one.

export const PLAYGROUND_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>polyhead playground</title>
<style>
  body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #222; background: #fafafa; }
  [hidden] { display: none !important; }
  header { background: #223; color: #fff; padding: .6rem 1.2rem; display: flex; align-items: baseline; gap: 2rem; } header h1 { margin: 0; font-size: 18px; }
  header a { color: #9cf; margin-left: 1rem; font-size: 13px; }
  #tabs a { color: #ccd; margin: 0 1rem 0 0; font-size: 14px; text-decoration: none; padding-bottom: 2px; }
  #tabs a.on { color: #fff; border-bottom: 2px solid #9cf; }
  main { display: grid; grid-template-columns: 22rem 1fr; gap: 1rem; padding: 1rem 1.2rem; }
  section { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .7rem .9rem; margin-bottom: 1rem; }
  h2 { font-size: 15px; margin: 0 0 .5rem; }
  label.f { display: block; font-weight: 600; margin: .5rem 0 .2rem; }
  textarea, input[type=text], select { width: 100%; box-sizing: border-box; font: inherit; padding: .3rem; }
  #adapter-list label { display: block; } #adapter-list small { color: #777; }
  button#run, button#t-run { margin-top: .8rem; padding: .4rem 1.4rem; font: inherit; font-weight: 600; background: #06c; color: #fff; border: 0; border-radius: 4px; cursor: pointer; }
  #status, #t-status { color: #666; margin-left: .6rem; } #status.error, #t-status.error { color: #b00; }
  pre#composition, pre#t-request { background: #f4f4f4; padding: .4rem; font-size: 12px; white-space: pre-wrap; }
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
  pre#t-request { overflow-wrap: anywhere; }
  #t-adapter-list label { display: block; } #t-adapter-list small { color: #777; }
  .inline { display: grid; grid-template-columns: 1fr 1fr; gap: .6rem; } .inline label.f { margin-top: .3rem; }
  input[type=number] { width: 100%; box-sizing: border-box; font: inherit; padding: .25rem; }
  .translation h3 { font-size: 14px; margin: 0 0 .4rem; } .translation h3 small { color: #777; font-weight: 400; }
  .t-row { margin-bottom: .7rem; } .t-src { color: #777; font-size: 12px; }
  .t-text { font-size: 16px; font-weight: 600; } .t-score { color: #555; font-size: 12px; margin-left: .5rem; font-variant-numeric: tabular-nums; }
  .t-maps { display: flex; flex-wrap: wrap; gap: 1rem; }
  .t-map h4 { font-size: 12px; margin: .3rem 0 0; font-weight: 600; } .t-map h4 small { color: #777; font-weight: 400; }
  table.t-heatmap { border-collapse: collapse; margin: .3rem 0; }
  .t-heatmap th, .t-heatmap td { border: 1px solid #ddd; padding: .15rem .45rem; text-align: center; font-size: 12px; }
  .t-heatmap td { min-width: 4.5rem; font-variant-numeric: tabular-nums; }
  .t-heatmap th.t-token { text-align: left; font-family: ui-monospace, monospace; font-weight: 400; white-space: pre; }
  #key-field { margin: .3rem 0 0; font-size: 13px; } #key-field input { width: 22rem; }
  #adapters-panel table { border-collapse: collapse; width: 100%; font-size: 12px; }
  #adapters-panel td, #adapters-panel th { border-bottom: 1px solid #eee; padding: .15rem .4rem; text-align: left; vertical-align: top; }
</style>
</head>
<body>
<header><h1>polyhead playground <a href="/docs">API docs</a></h1>
<nav id="tabs"><a href="#classify" data-view="classify" class="on">Classify</a><a href="#translate" data-view="translate">Translate</a></nav>
<p id="key-field"><label for="api-key">API key</label> <input type="password" id="api-key" autocomplete="off" placeholder="servers with keys: yours (kept in this tab only)"></p></header>
<main id="view-classify">
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
<main id="view-translate" hidden>
<div>
<section id="t-input-panel">
  <h2>Translate</h2>
  <label class="f" for="t-model">Model <small>(encoder-decoder)</small></label>
  <select id="t-model"></select>
  <label class="f" for="t-text">Text <small>(one input per line)</small></label>
  <textarea id="t-text" rows="4">The movie was great!
Paris is a beautiful city in France.</textarea>
  <div id="t-lang-field" class="inline" hidden>
    <div><label class="f" for="t-src-lang">Source language</label><select id="t-src-lang"></select></div>
    <div><label class="f" for="t-tgt-lang">Target language</label><select id="t-tgt-lang"></select></div>
  </div>
  <label class="f" for="t-mode">Composition</label>
  <select id="t-mode">
    <option value="single">single</option>
    <option value="stack">stack</option>
    <option value="parallel">parallel</option>
    <option value="fuse">fuse</option>
  </select>
  <label class="f">Adapters <small>(in the order checked; none: the base model)</small></label>
  <div id="t-adapter-list"></div>
  <div id="t-fusion-field"><label class="f" for="t-fusion">Fusion name (optional, fuse only)</label>
  <input type="text" id="t-fusion" placeholder="found by its adapters when empty"></div>
  <div class="inline">
    <div><label class="f" for="t-beams">Beams</label><input type="number" id="t-beams" min="1" max="8" value="1"></div>
    <div><label class="f" for="t-max-new">Max new tokens</label><input type="number" id="t-max-new" min="1" max="256" value="20"></div>
  </div>
  <pre id="t-request"></pre>
  <button id="t-run" type="button">Translate</button><span id="t-status"></span>
</section>
</div>
<div>
<section id="t-results-panel"><h2>Translations</h2><div id="t-results"><p class="empty">Press Translate.</p></div></section>
<section id="t-fusion-panel" hidden><h2>Fusion attention over the generated tokens</h2>
  <p>Each decoder layer's softmax weights over the fused adapters, for every generated token (rows) of the best output. <span id="t-depth"></span></p>
  <label class="f" for="t-fusion-row">Input</label>
  <select id="t-fusion-row"></select>
  <div id="t-heatmaps" class="t-maps"></div>
</section>
</div>
</main>
<script>
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var cls = { order: [] };
  var tx = { order: [] };
  var adapters = [];
  var models = {};
  var lastFusion = null;
  var NL = String.fromCharCode(10);

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function status(msg, err) { var s = $("status"); s.textContent = msg; s.className = err ? "error" : ""; }
  // a server with API keys: every /v1 call carries the key typed above; the listings then show its tenant's adapters
  function auth(h) {
    var k = $("api-key").value.trim();
    if (k) h.authorization = "Bearer " + k;
    return h;
  }
  function getJSON(url) {
    return fetch(url, { headers: auth({}) }).then(function (r) { return r.json().then(function (j) { if (!r.ok) throw new Error(j.detail || r.statusText); return j; }); });
  }
  function pct(x) { return (x * 100).toFixed(1) + "%"; }

  function compose(mode, order, fusion) {
    var names = order.slice();
    if (!names.length) return undefined;
    if (mode === "single") return names[0];
    if (mode === "fuse") {
      var c = { fuse: names };
      var f = fusion.trim();
      if (f) c.fusion = f;
      return c;
    }
    var o = {}; o[mode] = names; return o;
  }
  function composition() { return compose($("mode").value, cls.order, $("fusion").value); }
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

  // the adapters a model can take (those saved for its model type), one checkbox each; state.order: checked, in order
  function checkboxes(listId, model, state, onChange, note) {
    var list = $(listId); list.textContent = ""; state.order = [];
    adapters.forEach(function (a) {
      if (model && model.model_type && a.model_type && a.model_type !== model.model_type) return;
      var lab = el("label");
      var cb = el("input", { type: "checkbox", value: a.name, "data-adapter": a.name });
      if (a.supported === false) cb.disabled = true;
      cb.addEventListener("change", function () {
        state.order = state.order.filter(function (n) { return n !== a.name; });
        if (cb.checked) state.order.push(a.name);
        onChange();
      });
      lab.appendChild(cb);
      lab.appendChild(document.createTextNode(" " + a.name + " "));
      lab.appendChild(el("small", null, note(a)));
      list.appendChild(lab);
    });
    if (!list.firstChild) list.appendChild(el("small", null, "no adapters for this model"));
    onChange();
  }
  function classifyChecks() {
    checkboxes("adapter-list", models[$("model").value], cls, showComposition, function (a) { return a.head ? a.head.type : "no head"; });
  }

  function renderAdapters() {
    var table = el("table"); var head = el("tr");
    ["name", "type", "head", "labels", "fusions"].forEach(function (h) { head.appendChild(el("th", null, h)); });
    table.appendChild(head);
    adapters.forEach(function (a) {
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
    fetch("/v1/predict", { method: "POST", headers: auth({ "content-type": "application/json" }), body: JSON.stringify(body) })
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

  // ---- translation (encoder-decoder models, /v1/generate) ----

  var lastT = null;
  function tStatus(msg, err) { var s = $("t-status"); s.textContent = msg; s.className = err ? "error" : ""; }
  function tModel() { return models[$("t-model").value] || null; }
  function tInputs() {
    return $("t-text").value.split(NL).map(function (x) { return x.trim(); }).filter(function (x) { return x.length > 0; });
  }
  function tRequest() {
    var c = compose($("t-mode").value, tx.order, $("t-fusion").value);
    var m = tModel();
    var o = { num_beams: Number($("t-beams").value) || 1, max_new_tokens: Number($("t-max-new").value) || 20 };
    if (m && m.languages && m.languages.length) { o.src_lang = $("t-src-lang").value; o.tgt_lang = $("t-tgt-lang").value; }
    if (isFused(c)) o.return_fusion_attention = true;
    return { model: $("t-model").value, inputs: tInputs(), tasks: [{ adapters: c === undefined ? null : c }], options: o };
  }
  function showRequest() {
    $("t-fusion-field").hidden = $("t-mode").value !== "fuse";
    $("t-request").textContent = JSON.stringify(tRequest());
  }
  function tModelChanged() {
    var m = tModel();
    var langs = m && m.languages ? m.languages : [];
    $("t-lang-field").hidden = !langs.length;
    ["t-src-lang", "t-tgt-lang"].forEach(function (id) {
      var sel = $(id); sel.textContent = "";
      langs.forEach(function (l) { sel.appendChild(el("option", { value: l }, l)); });
    });
    if (langs.length) {
      var src = langs.indexOf("en_XX") >= 0 ? "en_XX" : langs[0];
      $("t-src-lang").value = src;
      $("t-tgt-lang").value = langs.filter(function (l) { return l !== src; })[0] || src;
    }
    checkboxes("t-adapter-list", m, tx, showRequest, function (a) { return a.type + ((a.fusions || []).length ? " · in " + a.fusions.join(", ") : ""); });
  }

  function renderTranslation(r, i, req) {
    var sec = el("div", { class: "translation", "data-name": r.name, "data-index": i });
    var h = el("h3", null, r.name + " ");
    h.appendChild(el("small", null, r.rows.length + (r.rows.length === 1 ? " input" : " inputs")));
    sec.appendChild(h);
    r.rows.forEach(function (row, k) {
      var best = r.outputs[k][0];
      var d = el("div", { class: "t-row", "data-row": row });
      d.appendChild(el("div", { class: "t-src" }, req.inputs[row]));
      var line = el("div");
      line.appendChild(el("span", { class: "t-text", "data-row": row, "data-tokens": best.token_ids.length }, best.text));
      if (req.options.num_beams > 1 && typeof best.sequence_score === "number")
        line.appendChild(el("span", { class: "t-score", "data-score": best.sequence_score, title: "the beam's length-normalised log-probability" }, "beam score " + best.sequence_score.toFixed(4)));
      d.appendChild(line);
      sec.appendChild(d);
    });
    return sec;
  }

  // a token's vocabulary string, its word-start marker (BPE's Ġ, SentencePiece's ▁) shown as ␣
  function tokenText(t) { return t.replace(/^[Ġ▁]/, "␣"); }
  function renderTFusion() {
    var f = lastT;
    var k = Number($("t-fusion-row").value || 0);
    var best = f.result.outputs[k][0];
    var fa = best.fusion_attention || {};
    var box = $("t-heatmaps"); box.textContent = "";
    Object.keys(fa).sort(function (x, y) { return Number(x) - Number(y); }).forEach(function (layer) {
      if (typeof f.depth === "number" && Number(layer) < f.depth) return; // encoder layers: over the source tokens
      Object.keys(fa[layer]).sort().forEach(function (loc) {
        var m = fa[layer][loc];
        var wrap = el("div", { class: "t-map" });
        var cap = el("h4", null, "layer " + layer + " · " + loc + " ");
        if (typeof f.depth === "number") cap.appendChild(el("small", null, "(decoder layer " + (Number(layer) - f.depth) + ")"));
        wrap.appendChild(cap);
        var t = el("table", { class: "t-heatmap", "data-layer": layer, "data-location": loc, "data-row": f.result.rows[k] });
        var hr = el("tr"); hr.appendChild(el("th", null, "#")); hr.appendChild(el("th", null, "token"));
        f.names.forEach(function (n) { hr.appendChild(el("th", { "data-adapter": n }, n)); });
        t.appendChild(hr);
        m.forEach(function (weights, step) {
          var id = best.token_ids[step];
          var tok = best.tokens && best.tokens[step] !== undefined ? best.tokens[step] : "#" + id;
          var trow = el("tr", { "data-step": step });
          trow.appendChild(el("th", null, step));
          trow.appendChild(el("th", { class: "t-token", "data-token": tok, "data-token-id": id, title: "id " + id }, tokenText(tok)));
          f.names.forEach(function (n, j) {
            var v = weights[j];
            var td = el("td", { "data-layer": layer, "data-location": loc, "data-step": step, "data-adapter": n }, v.toFixed(3));
            td.setAttribute("data-value", String(v));
            td.title = n + " for " + tok + " @ layer " + layer + " " + loc + ": " + v;
            td.style.background = shade(v);
            td.style.color = v > 0.55 ? "#fff" : "#000";
            trow.appendChild(td);
          });
          t.appendChild(trow);
        });
        wrap.appendChild(t);
        box.appendChild(wrap);
      });
    });
  }

  function translate() {
    var req = tRequest();
    if (!req.model) { tStatus("no encoder-decoder model in the store", true); return; }
    if (!req.inputs.length) { tStatus("type a text to translate", true); return; }
    var names = fuseList(req.tasks[0].adapters);
    var m = tModel();
    tStatus("translating…");
    $("t-run").disabled = true;
    document.body.removeAttribute("data-translated");
    fetch("/v1/generate", { method: "POST", headers: auth({ "content-type": "application/json" }), body: JSON.stringify(req) })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, j: j }; }); })
      .then(function (res) {
        var out = $("t-results"); out.textContent = "";
        $("t-fusion-panel").hidden = true; lastT = null;
        if (!res.ok) { tStatus((res.j.title || "error") + ": " + (res.j.detail || ""), true); out.appendChild(el("pre", { class: "problem" }, JSON.stringify(res.j, null, 2))); return; }
        res.j.results.forEach(function (r, i) {
          out.appendChild(renderTranslation(r, i, req));
          if (!lastT && names && r.outputs.some(function (o) { return o[0] && o[0].fusion_attention; }))
            lastT = { result: r, names: names, depth: m && typeof m.encoder_layers === "number" ? m.encoder_layers : null };
        });
        if (lastT) {
          $("t-depth").textContent = lastT.depth ? "Layers 0 to " + (lastT.depth - 1) + " are the encoder's (its weights over the source tokens are in the API's fusion_attention too); the decoder's are numbered after them." : "";
          var sel = $("t-fusion-row"); sel.textContent = "";
          lastT.result.rows.forEach(function (row, k) { sel.appendChild(el("option", { value: k }, (row + 1) + ": " + req.inputs[row].slice(0, 60))); });
          $("t-fusion-panel").hidden = false;
          renderTFusion();
        }
        tStatus("done");
      })
      .catch(function (e) { tStatus(String(e), true); })
      .then(function () { $("t-run").disabled = false; document.body.setAttribute("data-translated", "1"); });
  }

  function showView() {
    var v = location.hash === "#translate" ? "translate" : "classify";
    $("view-classify").hidden = v !== "classify";
    $("view-translate").hidden = v !== "translate";
    var tabs = document.querySelectorAll("#tabs a");
    for (var i = 0; i < tabs.length; i++) tabs[i].className = tabs[i].getAttribute("data-view") === v ? "on" : "";
  }

  $("mode").addEventListener("change", showComposition);
  $("fusion").addEventListener("input", showComposition);
  $("token-select").addEventListener("change", renderToken);
  $("run").addEventListener("click", run);
  $("model").addEventListener("change", classifyChecks);
  $("t-model").addEventListener("change", tModelChanged);
  ["t-mode", "t-src-lang", "t-tgt-lang", "t-beams", "t-max-new"].forEach(function (id) { $(id).addEventListener("change", showRequest); });
  ["t-text", "t-fusion", "t-beams", "t-max-new"].forEach(function (id) { $(id).addEventListener("input", showRequest); });
  $("t-fusion-row").addEventListener("change", renderTFusion);
  $("t-run").addEventListener("click", translate);
  window.addEventListener("hashchange", showView);
  showView();
  showComposition();
  function load() {
   document.body.removeAttribute("data-loaded");
   return Promise.all([getJSON("/v1/models"), getJSON("/v1/adapters")]).then(function (v) {
    var sel = $("model"), tsel = $("t-model");
    sel.textContent = ""; tsel.textContent = ""; models = {};
    v[0].models.forEach(function (m) {
      models[m.name] = m;
      var opt = el("option", { value: m.name }, m.name + (m.supported === false ? " (unsupported)" : ""));
      // encoder-decoder models translate; the others classify
      (m.encoder_decoder ? tsel : sel).appendChild(opt);
    });
    adapters = v[1].adapters;
    renderAdapters();
    classifyChecks();
    tModelChanged();
    status("");
    document.body.setAttribute("data-loaded", "1");
   }).catch(function (e) { status("could not load the store: " + e, true); tStatus("could not load the store: " + e, true); document.body.setAttribute("data-loaded", "error"); });
  }
  try { $("api-key").value = sessionStorage.getItem("polyhead-key") || ""; } catch (e) { /* storage off */ }
  $("api-key").addEventListener("change", function () {
    try { sessionStorage.setItem("polyhead-key", $("api-key").value.trim()); } catch (e) { /* storage off */ }
    load();
  });
  load();
})();
</script>
</body>
</html>
`;
