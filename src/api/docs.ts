// GET /docs: a self-contained page (no CDN: servers often run offline) that
// reads /openapi.json and lists the routes, their bodies and answers.

export const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>polyhead API</title>
<style>
  body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  h1 { margin-bottom: 0; } .sub { color: #666; margin-top: .2rem; }
  details { border: 1px solid #ddd; border-radius: 6px; margin: .6rem 0; padding: .4rem .8rem; }
  summary { cursor: pointer; } summary code { font-size: 15px; }
  .m { display: inline-block; min-width: 3.5rem; font-weight: 600; text-transform: uppercase; }
  .get { color: #0a6; } .post { color: #06c; }
  pre { background: #f6f6f6; padding: .6rem; overflow: auto; font-size: 13px; }
  table { border-collapse: collapse; } td { padding: .1rem .8rem .1rem 0; vertical-align: top; }
</style>
</head>
<body>
<h1>polyhead API</h1>
<p class="sub">From <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
<div id="routes">Loading…</div>
<script>
(async () => {
  const root = document.getElementById("routes");
  const el = (tag, props = {}, ...children) => {
    const e = Object.assign(document.createElement(tag), props);
    for (const c of children) e.append(c);
    return e;
  };
  let spec;
  try {
    spec = await (await fetch("/openapi.json")).json();
  } catch (err) {
    root.textContent = "Could not read /openapi.json: " + err;
    return;
  }
  const deref = (s) => {
    if (s && s.$ref) return spec.components.schemas[s.$ref.split("/").pop()] || s;
    return s;
  };
  root.textContent = "";
  document.querySelector(".sub").prepend(el("span", { textContent: (spec.info.description || "") + " " }));
  for (const [path, ops] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const d = el("details");
      d.append(el("summary", {}, el("span", { className: "m " + method, textContent: method }), el("code", { textContent: path }), " — " + (op.summary || "")));
      const body = op.requestBody && op.requestBody.content && op.requestBody.content["application/json"];
      if (body) {
        const s = deref(body.schema);
        d.append(el("h4", { textContent: "Request body" }));
        if (s && s.example) d.append(el("pre", { textContent: JSON.stringify(s.example, null, 2) }));
        d.append(el("pre", { textContent: JSON.stringify(s, null, 2) }));
      }
      for (const p of op.parameters || []) d.append(el("p", { textContent: "Parameter " + p.name + " (" + p.in + ")" }));
      const t = el("table");
      for (const [code, r] of Object.entries(op.responses || {})) {
        t.append(el("tr", {}, el("td", {}, el("code", { textContent: code })), el("td", { textContent: r.description + " — " + Object.keys(r.content || {}).join(", ") })));
      }
      d.append(el("h4", { textContent: "Responses" }), t);
      root.append(d);
    }
  }
})();
</script>
</body>
</html>
`;
