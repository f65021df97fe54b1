/**
 * The live dashboard served at the monitoring root: one self-contained page
 * (inline CSS and JS, no CDN, works offline) that polls /varz, /connz,
 * /routez, /leafz, /jsz (when JetStream is on) and /metrics with relative URLs, so it works under
 * `http_base_path` and behind a path-prefixing proxy.
 *
 * @module
 */
import { NATS_COMPAT_VERSION, VERSION } from "../version.ts";

/** Poll period of the page, in milliseconds. */
export const DASHBOARD_POLL_MS = 1000;

/** HTML-escapes text placed into the page. */
function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Endpoints linked from the page: [path, label]. */
const LINKS: [string, string][] = [
  ["varz", "General"],
  ["connz", "Connections"],
  ["routez", "Routes"],
  ["subsz", "Subscriptions"],
  ["accountz", "Accounts"],
  ["accstatz", "Account stats"],
  ["jsz", "JetStream"],
  ["gatewayz", "Gateways"],
  ["leafz", "Leaf nodes"],
  ["healthz", "Health"],
  ["metrics", "Prometheus"],
];

const CSS = `
:root{--bg:#f4f6f9;--card:#fff;--ink:#17202b;--mute:#5d6b7c;--line:#e2e7ee;--in:#1f8a70;--out:#3767d6;--warn:#c2410c;--ok:#15803d;--chip:#eef2f7}
@media (prefers-color-scheme:dark){:root{--bg:#0f141b;--card:#171e27;--ink:#e6edf5;--mute:#93a1b3;--line:#263140;--in:#34d399;--out:#7aa2ff;--warn:#fb923c;--ok:#4ade80;--chip:#1f2936}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header{display:flex;flex-wrap:wrap;align-items:center;gap:8px 16px;padding:14px 16px;background:var(--card);border-bottom:1px solid var(--line)}
.brand{font-weight:700;font-size:18px;letter-spacing:.2px}
.brand span{color:var(--out)}
.meta{color:var(--mute);font-size:12px;display:flex;flex-wrap:wrap;gap:4px 12px;min-width:0}
.meta b{color:var(--ink);font-weight:600;overflow-wrap:anywhere}
.status{margin-left:auto;display:flex;align-items:center;gap:6px;font-size:12px;color:var(--mute)}
.dot{width:9px;height:9px;border-radius:50%;background:var(--mute)}
.dot.live{background:var(--ok);box-shadow:0 0 0 3px color-mix(in srgb,var(--ok) 25%,transparent)}
.dot.down{background:var(--warn)}
main{padding:14px;max-width:1200px;margin:0 auto;display:grid;gap:14px}
.kpis{display:grid;grid-template-columns:repeat(5,minmax(0,1fr));gap:10px}
@media (max-width:760px){.kpis{grid-template-columns:repeat(3,minmax(0,1fr))}}
.kpi{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:10px 12px;min-width:0}
.kpi .l{font-size:11px;text-transform:uppercase;letter-spacing:.6px;color:var(--mute)}
.kpi .v{font-size:22px;font-weight:650;font-variant-numeric:tabular-nums;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.kpi .s{font-size:11px;color:var(--mute);white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.kpi.in .v{color:var(--in)}.kpi.out .v{color:var(--out)}.kpi.bad .v{color:var(--warn)}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(280px,1fr));gap:10px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px;min-width:0}
.card h2{font-size:13px;margin:0 0 8px;display:flex;justify-content:space-between;gap:8px;font-weight:600}
.legend{font-weight:400;color:var(--mute);font-size:12px;white-space:nowrap}
.legend i{display:inline-block;width:10px;height:3px;border-radius:2px;margin:0 4px 2px 8px;vertical-align:middle}
svg.chart{width:100%;height:120px;display:block}
svg.chart .grid{stroke:var(--line);stroke-width:1}
svg.chart text{fill:var(--mute);font-size:10px}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums;font-size:13px}
th,td{padding:6px 8px;text-align:right;white-space:nowrap;border-bottom:1px solid var(--line)}
th:first-child,td:first-child,th.t,td.t{text-align:left}
th{font-size:11px;text-transform:uppercase;letter-spacing:.5px;color:var(--mute);cursor:pointer;user-select:none;position:sticky;top:0;background:var(--card)}
th:hover{color:var(--ink)}
th.sorted{color:var(--out)}
th.sorted::after{content:" \\2193"}
th.sorted.asc::after{content:" \\2191"}
td.empty{text-align:center;color:var(--mute);padding:16px}
nav.links{display:flex;flex-wrap:wrap;gap:6px}
nav.links a{color:var(--ink);text-decoration:none;background:var(--chip);border:1px solid var(--line);border-radius:999px;padding:4px 10px;font-size:12px}
nav.links a:hover{border-color:var(--out);color:var(--out)}
footer{color:var(--mute);font-size:12px;text-align:center;padding:4px 0 18px}
@media (max-width:480px){.sm-hide{display:none}th,td{padding:6px 4px;font-size:12px}th{letter-spacing:0;font-size:10.5px}td.name{max-width:96px;overflow:hidden;text-overflow:ellipsis}.card{padding:10px}header{padding:12px}.brand{font-size:16px}main{padding:10px;gap:10px}.kpis{grid-template-columns:repeat(2,minmax(0,1fr));gap:8px}.kpi .v{font-size:19px}.status{margin-left:0}}
`;

/**
 * The page's script. It keeps the last 60 samples, derives rates from
 * counter deltas divided by the server's own `now` deltas, and re-renders.
 */
const SCRIPT = `
"use strict";
const POLL = ${DASHBOARD_POLL_MS};
const N = 60;
const $ = (id) => document.getElementById(id);
const hist = { min: [], mout: [], bin: [], bout: [], conns: [], subs: [] };
let prev = null, conns = [], sortKey = "cid", sortAsc = true, certs = [], tick = 0, tlsCert = null;

function fmtNum(n) {
  if (!isFinite(n)) return "–";
  const a = Math.abs(n);
  if (a >= 1e9) return (n / 1e9).toFixed(2) + "G";
  if (a >= 1e6) return (n / 1e6).toFixed(2) + "M";
  if (a >= 1e4) return (n / 1e3).toFixed(1) + "k";
  return a >= 100 || Number.isInteger(n) ? String(Math.round(n)) : n.toFixed(1);
}
function fmtBytes(n) {
  if (!isFinite(n)) return "–";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i === 0 ? Math.round(n) : n.toFixed(n >= 100 ? 0 : 1)) + " " + u[i];
}
function push(a, v) { a.push(v); if (a.length > N) a.shift(); }
function text(id, v) { const e = $(id); if (e && e.textContent !== v) e.textContent = v; }

function chart(id, series, fmt) {
  const svg = $(id); if (!svg) return;
  const W = 300, H = 120, P = 4, L = 0;
  let max = 0;
  for (const s of series) for (const v of s.data) if (v > max) max = v;
  const top = max > 0 ? max * 1.15 : 1;
  let out = "";
  for (let g = 1; g <= 3; g++) { const y = (H * g / 4).toFixed(1); out += '<line class="grid" x1="0" x2="' + W + '" y1="' + y + '" y2="' + y + '"/>'; }
  for (const s of series) {
    if (s.data.length < 2) continue;
    const step = (W - L) / (N - 1), off = N - s.data.length;
    const pts = s.data.map((v, i) => (L + (off + i) * step).toFixed(1) + "," + (H - P - (v / top) * (H - 2 * P)).toFixed(1));
    const first = pts[0].split(",")[0], last = pts[pts.length - 1].split(",")[0];
    out += '<path d="M' + first + "," + H + " L" + pts.join(" L") + " L" + last + "," + H + 'Z" fill="' + s.color + '" fill-opacity="0.12"/>';
    out += '<polyline points="' + pts.join(" ") + '" fill="none" stroke="' + s.color + '" stroke-width="2" stroke-linejoin="round" vector-effect="non-scaling-stroke"' + (s.dash ? ' stroke-dasharray="5 4"' : "") + "/>";
  }
  out += '<text x="4" y="12">' + fmt(max) + "</text>";
  svg.innerHTML = out;
}

const COLS = [
  ["cid", "CID", (c) => c.cid],
  ["type", "Type", (c) => c.type || "nats", "t sm-hide"],
  ["name", "Name", (c) => c.name || "", "t name"],
  ["addr", "Address", (c) => c.ip + ":" + c.port, "t sm-hide"],
  ["subscriptions", "Subs", (c) => c.subscriptions],
  ["in_msgs", "Msgs in", (c) => c.in_msgs, "", fmtNum],
  ["out_msgs", "Msgs out", (c) => c.out_msgs, "", fmtNum],
  ["in_bytes", "Bytes in", (c) => c.in_bytes, "sm-hide", fmtBytes],
  ["out_bytes", "Bytes out", (c) => c.out_bytes, "sm-hide", fmtBytes],
  ["pending_bytes", "Pending", (c) => c.pending_bytes, "sm-hide", fmtBytes],
  ["rtt", "RTT", (c) => c.rtt || "", "sm-hide"],
  ["uptime", "Uptime", (c) => c.uptime, "sm-hide"],
  ["lang", "Client", (c) => ((c.lang || "") + " " + (c.version || "")).trim(), "t sm-hide"],
];
function durSecs(s) {
  let t = 0; const re = /(\\d+(?:\\.\\d+)?)(y|d|h|ms|m|s|µs|us|ns)/g; let m;
  const mul = { y: 31536000, d: 86400, h: 3600, m: 60, s: 1, ms: 1e-3, "µs": 1e-6, us: 1e-6, ns: 1e-9 };
  while ((m = re.exec(s || ""))) t += parseFloat(m[1]) * mul[m[2]];
  return t;
}
function sortVal(c, key) {
  const col = COLS.find((x) => x[0] === key);
  const v = col[2](c);
  if (key === "rtt" || key === "uptime") return durSecs(v);
  return v;
}
function renderHead() {
  const tr = $("conn-head");
  tr.innerHTML = "";
  for (const [key, label, , cls] of COLS) {
    const th = document.createElement("th");
    th.textContent = label;
    th.dataset.key = key;
    th.scope = "col";
    if (cls) th.className = cls;
    if (key === sortKey) th.classList.add("sorted"), sortAsc && th.classList.add("asc");
    th.addEventListener("click", () => {
      if (sortKey === key) sortAsc = !sortAsc; else { sortKey = key; sortAsc = key === "cid" || key === "type" || key === "name" || key === "addr" || key === "lang"; }
      renderHead(); renderConns();
    });
    tr.appendChild(th);
  }
}
function renderConns() {
  const body = $("conn-body");
  const rows = conns.slice().sort((a, b) => {
    const x = sortVal(a, sortKey), y = sortVal(b, sortKey);
    const r = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
    return (sortAsc ? r : -r) || a.cid - b.cid;
  });
  if (rows.length === 0) { body.innerHTML = '<tr><td class="empty" colspan="' + COLS.length + '">No client connections</td></tr>'; return; }
  const frag = document.createDocumentFragment();
  for (const c of rows) {
    const tr = document.createElement("tr");
    for (const [, , get, cls, fmt] of COLS) {
      const td = document.createElement("td");
      const v = get(c);
      td.textContent = fmt ? fmt(v) : String(v);
      if (cls) td.className = cls;
      tr.appendChild(td);
    }
    frag.appendChild(tr);
  }
  body.replaceChildren(frag);
}
function renderRoutes(r) {
  const list = (r && r.routes) || [];
  $("routes-card").hidden = list.length === 0;
  const body = $("route-body");
  body.innerHTML = "";
  for (const x of list) {
    const tr = document.createElement("tr");
    for (const v of [x.rid, x.remote_id, x.ip + ":" + x.port, x.did_solicit ? "out" : "in", fmtNum(x.in_msgs), fmtNum(x.out_msgs), fmtBytes(x.in_bytes), fmtBytes(x.out_bytes), x.subscriptions, x.rtt || "", x.uptime]) {
      const td = document.createElement("td"); td.textContent = String(v); tr.appendChild(td);
    }
    tr.children[1].className = "t"; tr.children[2].className = "t";
    body.appendChild(tr);
  }
}
function renderLeafs(l) {
  const list = (l && l.leafs) || [];
  $("leafs-card").hidden = list.length === 0;
  const body = $("leaf-body");
  body.innerHTML = "";
  for (const x of list) {
    const tr = document.createElement("tr");
    for (const v of [x.account, x.ip + ":" + x.port, fmtNum(x.in_msgs), fmtNum(x.out_msgs), fmtBytes(x.in_bytes), fmtBytes(x.out_bytes), x.subscriptions, x.rtt || ""]) {
      const td = document.createElement("td"); td.textContent = String(v); tr.appendChild(td);
    }
    tr.children[0].className = "t"; tr.children[1].className = "t";
    body.appendChild(tr);
  }
}
function parseCerts(txt) {
  const out = [];
  for (const line of txt.split("\\n")) {
    if (!line.startsWith("dnatsd_tls_certificate_not_after_seconds{")) continue;
    const m = /subject="((?:[^"\\\\]|\\\\.)*)"\\}\\s+(\\S+)/.exec(line);
    if (m) out.push({ subject: m[1].replace(/\\\\(.)/g, "$1"), notAfter: Number(m[2]) * 1000 });
  }
  return out;
}
function renderCert() {
  // /varz tls_cert (fresh every poll) wins over the /metrics sample (every 10th poll).
  const t = tlsCert;
  const list = t && t.not_after ? [{ subject: t.subject, notAfter: Date.parse(t.not_after) }] : certs;
  if (list.length === 0) { text("cert", "none"); text("cert-sub", "no TLS certificate"); $("k-cert").classList.remove("bad"); return; }
  const c = list.reduce((a, b) => (a.notAfter < b.notAfter ? a : b));
  const days = (c.notAfter - Date.now()) / 864e5;
  text("cert", days < 0 ? "expired" : days < 1 ? Math.max(0, Math.floor(days * 24)) + " hours" : Math.floor(days) + " days");
  let sub = new Date(c.notAfter).toISOString().slice(0, 10) + " · " + c.subject;
  if (t && t.issuer) sub += " · by " + t.issuer;
  if (t && t.source && t.source.startsWith("acme")) sub += " · ACME";
  if (t && t.next_renewal) sub += " · renews " + t.next_renewal.slice(0, 16).replace("T", " ");
  if (t && t.last_error) sub += " · renewal failing: " + t.last_error;
  text("cert-sub", sub);
  // An ACME certificate renewing on schedule is fine even close to expiry; a failing one is not.
  const renewing = Boolean(t && t.next_renewal && !t.last_error);
  $("k-cert").classList.toggle("bad", Boolean(t && t.last_error) || (days < 14 && !renewing) || days < 0);
}
// /jsz is asked for once JetStream is seen on in /varz (and on the first poll).
let jsOn = true;
function renderJetStream(v, j) {
  const on = Boolean(v.jetstream && v.jetstream.config);
  jsOn = on;
  if (!on) { text("js", "off"); text("js-sub", "not enabled"); return; }
  const st = v.jetstream.stats || {};
  if (j && !j.disabled) {
    text("js", fmtNum(j.messages) + " msgs");
    text("js-sub", fmtNum(j.streams) + " streams · " + fmtNum(j.consumers) + " consumers · " + fmtBytes((st.storage || 0) + (st.memory || 0)));
  }
}
async function getJson(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (!r.ok) throw new Error(path + ": " + r.status);
  return r.json();
}
async function poll() {
  try {
    const wantMetrics = tick++ % 10 === 0;
    const [v, c, r, m, l, j] = await Promise.all([
      getJson("varz"),
      getJson("connz?limit=1000"),
      getJson("routez"),
      wantMetrics ? fetch("metrics", { cache: "no-store" }).then((x) => x.text()) : Promise.resolve(null),
      getJson("leafz"),
      jsOn ? getJson("jsz") : Promise.resolve(null),
    ]);
    const now = Date.parse(v.now);
    if (prev) {
      const dt = Math.max(1e-3, (now - prev.t) / 1000);
      const rate = (k) => Math.max(0, (v[k] - prev.v[k]) / dt);
      push(hist.min, rate("in_msgs")); push(hist.mout, rate("out_msgs"));
      push(hist.bin, rate("in_bytes")); push(hist.bout, rate("out_bytes"));
    }
    prev = { t: now, v };
    push(hist.conns, v.connections); push(hist.subs, v.subscriptions);
    const last = (a) => (a.length ? a[a.length - 1] : 0);
    text("server-name", v.server_name); text("version", v.version); text("uptime", v.uptime);
    text("host", v.host + ":" + v.port);
    text("conns", fmtNum(v.connections)); text("conns-sub", fmtNum(v.total_connections) + " total");
    text("subs", fmtNum(v.subscriptions));
    text("msgs-in-rate", fmtNum(last(hist.min)) + "/s"); text("msgs-in-sub", fmtNum(v.in_msgs) + " total");
    text("msgs-out-rate", fmtNum(last(hist.mout)) + "/s"); text("msgs-out-sub", fmtNum(v.out_msgs) + " total");
    text("bytes-in-rate", fmtBytes(last(hist.bin)) + "/s"); text("bytes-in-sub", fmtBytes(v.in_bytes) + " total");
    text("bytes-out-rate", fmtBytes(last(hist.bout)) + "/s"); text("bytes-out-sub", fmtBytes(v.out_bytes) + " total");
    text("slow", fmtNum(v.slow_consumers)); $("k-slow").classList.toggle("bad", v.slow_consumers > 0);
    text("routes", fmtNum(v.routes)); text("routes-sub", (v.cluster && v.cluster.name) || "no cluster");
    text("mem", fmtBytes(v.mem)); text("cpu-sub", v.cpu + "% CPU · " + v.cores + " cores");
    chart("chart-msgs", [{ data: hist.mout, color: "var(--out)" }, { data: hist.min, color: "var(--in)", dash: true }], (x) => fmtNum(x) + "/s");
    chart("chart-bytes", [{ data: hist.bout, color: "var(--out)" }, { data: hist.bin, color: "var(--in)", dash: true }], (x) => fmtBytes(x) + "/s");
    chart("chart-conns", [{ data: hist.conns, color: "var(--out)" }, { data: hist.subs, color: "var(--in)", dash: true }], fmtNum);
    conns = c.connections || [];
    text("conn-count", conns.length + (c.total > conns.length ? " of " + c.total : ""));
    renderConns();
    renderRoutes(r);
    renderLeafs(l);
    text("leafs", fmtNum(v.leafnodes));
    renderJetStream(v, j);
    if (m !== null) certs = parseCerts(m);
    tlsCert = v.tls_cert || null;
    renderCert();
    $("dot").className = "dot live"; text("state", "live · " + new Date().toLocaleTimeString());
    document.body.dataset.polls = String(tick);
  } catch (e) {
    $("dot").className = "dot down"; text("state", "unreachable");
  } finally {
    setTimeout(poll, POLL);
  }
}
renderHead();
renderConns();
poll();
`;

function kpi(id: string, label: string, cls = "", sub = "&nbsp;"): string {
  return `<div class="kpi ${cls}" id="k-${id}"><div class="l">${label}</div>` +
    `<div class="v" id="${id}">–</div><div class="s" id="${id}-sub">${sub}</div></div>`;
}

/**
 * The dashboard page.
 *
 * @param info Server name shown before the first poll answers.
 * @returns A complete HTML document.
 */
export function dashboardHtml(info: { serverName: string }): string {
  const links = LINKS.map(([href, label]) =>
    `<a href="${href}">${label} <small>/${href}</small></a>`
  )
    .join("");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="color-scheme" content="light dark">
<link rel="icon" href="data:,">
<title>dnatsd · ${esc(info.serverName)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
  <div class="brand">d<span>nats</span>d</div>
  <div class="meta">
    <span>server <b id="server-name">${esc(info.serverName)}</b></span>
    <span>on <b id="host">–</b></span>
    <span>nats <b id="version">${NATS_COMPAT_VERSION}</b></span>
    <span>up <b id="uptime">–</b></span>
  </div>
  <div class="status"><span class="dot" id="dot"></span><span id="state">connecting…</span></div>
</header>
<main>
  <section class="kpis" aria-label="Key figures">
    ${kpi("conns", "Connections")}
    ${kpi("subs", "Subscriptions")}
    ${kpi("msgs-in-rate", "Msgs in", "in")}
    ${kpi("msgs-out-rate", "Msgs out", "out")}
    ${kpi("bytes-in-rate", "Bytes in", "in")}
    ${kpi("bytes-out-rate", "Bytes out", "out")}
    ${kpi("slow", "Slow consumers", "", "since start")}
    ${kpi("routes", "Routes")}
    ${kpi("leafs", "Leaf nodes")}
    ${kpi("mem", "Memory", "", '<span id="cpu-sub">&nbsp;</span>')}
    ${kpi("cert", "TLS certificate")}
    ${kpi("js", "JetStream")}
  </section>
  <section class="charts">
    <div class="card"><h2>Messages / s<span class="legend"><i style="background:var(--in)"></i>in<i style="background:var(--out)"></i>out</span></h2><svg class="chart" id="chart-msgs" viewBox="0 0 300 120" preserveAspectRatio="none" role="img" aria-label="messages per second"></svg></div>
    <div class="card"><h2>Bytes / s<span class="legend"><i style="background:var(--in)"></i>in<i style="background:var(--out)"></i>out</span></h2><svg class="chart" id="chart-bytes" viewBox="0 0 300 120" preserveAspectRatio="none" role="img" aria-label="bytes per second"></svg></div>
    <div class="card"><h2>Load<span class="legend"><i style="background:var(--out)"></i>connections<i style="background:var(--in)"></i>subs</span></h2><svg class="chart" id="chart-conns" viewBox="0 0 300 120" preserveAspectRatio="none" role="img" aria-label="connections and subscriptions"></svg></div>
  </section>
  <section class="card">
    <h2>Connections <span class="legend" id="conn-count"></span></h2>
    <div class="scroll"><table id="conn-table"><thead><tr id="conn-head"></tr></thead><tbody id="conn-body"></tbody></table></div>
  </section>
  <section class="card" id="routes-card" hidden>
    <h2>Routes</h2>
    <div class="scroll"><table><thead><tr><th>RID</th><th class="t">Remote</th><th class="t">Address</th><th>Dir</th><th>Msgs in</th><th>Msgs out</th><th>Bytes in</th><th>Bytes out</th><th>Subs</th><th>RTT</th><th>Uptime</th></tr></thead><tbody id="route-body"></tbody></table></div>
  </section>
  <section class="card" id="leafs-card" hidden>
    <h2>Leaf nodes</h2>
    <div class="scroll"><table><thead><tr><th class="t">Account</th><th class="t">Address</th><th>Msgs in</th><th>Msgs out</th><th>Bytes in</th><th>Bytes out</th><th>Subs</th><th>RTT</th></tr></thead><tbody id="leaf-body"></tbody></table></div>
  </section>
  <section class="card">
    <h2>Endpoints</h2>
    <nav class="links">${links}</nav>
  </section>
</main>
<footer>dnatsd ${VERSION} · refreshes every ${DASHBOARD_POLL_MS / 1000} s</footer>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
