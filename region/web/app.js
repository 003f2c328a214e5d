// cachesync dashboard: polls /api/fleet and redraws. Built with DOM calls
// and textContent only, so nothing a node gossips can inject markup.
"use strict";

const POLL_MS = 1500;
const WINDOW_MIN = 5;
const DASH = "\u2013";
const SVG = "http://www.w3.org/2000/svg";

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

function missing(v) { return v === null || v === undefined; }

function fmtSeconds(s) {
  if (missing(s)) return DASH;
  if (s === 0) return "0";
  if (s < 1) return (s * 1000).toFixed(s < 0.01 ? 2 : 0) + " ms";
  if (s < 120) return s.toFixed(2) + " s";
  return (s / 60).toFixed(1) + " min";
}

function fmtBytes(b) {
  if (missing(b)) return DASH;
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = b;
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i === 0 ? String(v) : v.toFixed(1)) + " " + units[i];
}

function fmtNum(n, digits) {
  if (missing(n)) return DASH;
  return digits ? n.toFixed(digits) : String(n);
}

function fmtPct(r) { return missing(r) ? DASH : (r * 100).toFixed(1) + " %"; }

function fig(field, label, value) {
  return el("div", { class: "fig" },
    el("span", { class: "label" }, label),
    el("span", { class: "value", "data-field": field }, value));
}

function regionCard(r) {
  const card = el("article", { class: "region health-" + r.health, "data-region": r.region, "data-health": r.health });
  const badgeText = r.health === "behind" ? "behind" : r.health === "warn" ? "warning" : "ok";
  card.append(el("h2", {}, r.region || "(no region)",
    el("span", { class: "badge health-" + r.health, "data-field": "health" }, badgeText)));
  if (r.reasons && r.reasons.length) {
    const ul = el("ul", { class: "reasons", "data-field": "reasons" });
    for (const why of r.reasons) ul.append(el("li", {}, why));
    card.append(ul);
  }
  const rep = r.replica;
  const slot = r.slot;
  const lag = r.e2e_lag && r.e2e_lag.samples > 0 ? r.e2e_lag : null;
  const px = r.proxy;
  const mcKnown = (r.memcached || []).length > 0;
  card.append(el("div", { class: "figures" },
    fig("active-sidecar", "active sidecar", r.active_sidecar || DASH),
    fig("replica-lag-bytes", "replica lag", rep && rep.up ? fmtBytes(rep.lag_bytes) : DASH),
    fig("replica-lag-seconds", "replica lag (time)", rep && rep.up ? fmtSeconds(rep.lag_seconds) : DASH),
    fig("replica-state", "replica", rep ? (rep.up ? "up" : "down") : DASH),
    fig("e2e-p50", "end-to-end p50", lag ? fmtSeconds(lag.p50) : DASH),
    fig("e2e-p99", "end-to-end p99", lag ? fmtSeconds(lag.p99) : DASH),
    fig("invalidations-per-sec", "invalidations/s", fmtNum(r.invalidations_per_sec, 1)),
    fig("queue-depth", "queue depth", fmtNum(r.queue_depth)),
    fig("slot-confirmed", "slot confirmed", slot ? slot.confirmed_lsn || DASH : DASH),
    fig("slot-received", "slot received", slot ? slot.received_lsn || DASH : DASH),
    fig("memcached-up", "memcached up", mcKnown ? String(r.memcached_up) : DASH),
    fig("memcached-down", "memcached down", mcKnown ? String(r.memcached_down) : DASH),
    fig("hit-rate", "proxy hit rate", px ? fmtPct(px.hit_rate) : DASH),
    fig("leases-granted", "leases granted", px ? fmtNum(px.leases_granted) : DASH),
    fig("hot-misses", "hot misses", px ? fmtNum(px.hot_misses) : DASH),
    fig("stale-served", "stale served", px ? fmtNum(px.stale_served) : DASH)));
  card.append(consistencyBox(r.consistency));
  card.append(walBox(r));
  const named = (r.sources || []).filter((src) => src.name);
  if (named.length > 0) card.append(sourcesTable(named, r.wal_warn_bytes));
  card.append(nodesTable(r.nodes || []));
  return card;
}

// fmtNines mirrors region.NinesFigure.String.
function fmtNines(n) {
  if (missing(n)) return DASH;
  return (n.at_least ? "\u2265 " : "") + n.nines.toFixed(1) + " nines";
}

// consistencyBox is the active sidecar's consistency monitor: sampled keys
// re-read after their invalidation and compared with the database.
function consistencyBox(c) {
  const box = el("div", { class: "consistency", "data-field": "consistency" });
  if (missing(c)) {
    box.append(el("span", { class: "label" }, "consistency: " + DASH));
    return box;
  }
  const bad = c.inconsistent + c.presence_inconsistent > 0;
  box.classList.toggle("bad", bad);
  box.append(el("div", { class: "figures" },
    fig("consistency-nines", "consistency", fmtNines(c.nines)),
    fig("consistency-checked", "keys checked", fmtNum(c.checked)),
    fig("consistency-inconsistent", "inconsistent", fmtNum(c.inconsistent)),
    fig("consistency-presence", "presence checked / inconsistent",
      fmtNum(c.presence_checked) + " / " + fmtNum(c.presence_inconsistent))));
  const recent = c.recent || [];
  if (recent.length) {
    const t = el("table", { class: "recent", "data-field": "consistency-recent" });
    t.append(el("tr", {}, el("th", {}, "inconsistent key"), el("th", {}, "cached"),
      el("th", {}, "database"), el("th", {}, "when")));
    for (const k of recent) {
      t.append(el("tr", { "data-key": k.key },
        el("td", {}, k.key), el("td", {}, k.cached), el("td", {}, k.database),
        el("td", {}, new Date(k.at).toLocaleTimeString())));
    }
    box.append(t);
  }
  return box;
}

// sourcesTable shows each primary of a sharded region: its slot, how far
// it is consumed, the WAL it retains and the region's replica of it.
function sourcesTable(sources, warnBytes) {
  const t = el("table", { class: "sources" });
  t.append(el("tr", {}, el("th", {}, "source"), el("th", {}, "mode"), el("th", {}, "slot"),
    el("th", {}, "confirmed"), el("th", {}, "retained WAL"), el("th", {}, "replica lag"),
    el("th", {}, "end-to-end p99"), el("th", {}, "problems")));
  for (const src of sources) {
    const slot = src.slot;
    const rep = src.replica;
    const lag = src.e2e_lag && src.e2e_lag.samples > 0 ? src.e2e_lag : null;
    const warn = slot && slot.warn_bytes > 0 ? slot.warn_bytes : warnBytes;
    const over = slot && warn > 0 && slot.retained_wal_bytes >= warn;
    const mode = src.active ? "active" : src.standby ? "standby" : "down";
    let replica = DASH;
    if (rep) replica = rep.up ? fmtSeconds(rep.lag_seconds) : "down";
    t.append(el("tr", { "data-source": src.name },
      el("td", {}, src.name),
      el("td", { "data-field": "source-mode" }, mode),
      el("td", { "data-field": "source-slot" }, slot ? slot.name : DASH),
      el("td", { "data-field": "source-confirmed" }, slot ? slot.confirmed_lsn || DASH : DASH),
      el("td", { "data-field": "source-retained-wal", class: over ? "problems" : "" }, slot ? fmtBytes(slot.retained_wal_bytes) : DASH),
      el("td", { "data-field": "source-replica-lag" }, replica),
      el("td", { "data-field": "source-e2e-p99" }, lag ? fmtSeconds(lag.p99) : DASH),
      el("td", { "data-field": "source-problems", class: "problems" }, (src.problems || []).join("; "))));
  }
  return t;
}

function walBox(r) {
  const slot = r.slot;
  const box = el("div", { class: "walbox" });
  const retained = slot ? slot.retained_wal_bytes : null;
  box.append(el("div", { class: "fig" },
    el("span", { class: "label" }, "retained WAL (warn at " + fmtBytes(r.wal_warn_bytes) + ")"),
    el("span", { class: "value", "data-field": "retained-wal" }, fmtBytes(retained))));
  const fill = el("div", { class: "fill" + (r.wal_warning ? " over" : "") });
  if (!missing(retained) && r.wal_warn_bytes > 0) {
    fill.style.width = Math.min(100, (100 * retained) / r.wal_warn_bytes).toFixed(1) + "%";
  } else {
    fill.style.width = "0";
  }
  box.append(el("div", { class: "walbar", "data-field": "wal-bar" }, fill));
  if (r.wal_warning) {
    box.append(el("div", { class: "walwarning", "data-field": "wal-warning" },
      "\u26a0 retained WAL above " + fmtBytes(r.wal_warn_bytes) + ": this region is not consuming"));
  }
  return box;
}

function nodesTable(nodes) {
  const t = el("table", { class: "nodes" });
  t.append(el("tr", {}, el("th", {}, "node"), el("th", {}, "role"), el("th", {}, "mode"),
    el("th", {}, "state"), el("th", {}, "problems")));
  for (const n of nodes) {
    const st = n.status;
    let mode = DASH;
    if (n.role === "sidecar" && st) mode = st.active ? "active" : "standby";
    let problems = "";
    if (st && st.problems && st.problems.length) problems = st.problems.join("; ");
    else if (st && !st.healthy) problems = "unhealthy";
    t.append(el("tr", { "data-node": n.name },
      el("td", {}, n.name),
      el("td", { "data-field": "role" }, n.role || DASH),
      el("td", { "data-field": "mode" }, mode),
      el("td", { "data-field": "state", class: "state-" + n.state }, n.state),
      el("td", { "data-field": "problems", class: "problems" }, problems)));
  }
  return t;
}

function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  return e;
}

// chart draws e2e p99 and replica lag (seconds) with gaps where a sample
// carries no figure.
function chart(region, points, view) {
  const W = 600, H = 160, L = 48, B = 18, T = 8;
  const box = el("div", { class: "chart", "data-chart": region });
  box.append(el("h3", {}, region));
  const s = svg("svg", { viewBox: "0 0 " + W + " " + H, preserveAspectRatio: "none", role: "img" });
  const now = Date.parse(view.generated_at);
  const from = now - WINDOW_MIN * 60 * 1000;
  let ymax = view.lag_warn_seconds * 1.2;
  for (const p of points) {
    for (const v of [p.e2e_p99, p.replica_lag_seconds]) if (!missing(v) && v > ymax) ymax = v;
  }
  ymax *= 1.1;
  const x = (t) => L + ((t - from) / (now - from)) * (W - L - 4);
  const y = (v) => T + (1 - v / ymax) * (H - T - B);
  s.append(svg("line", { x1: L, y1: y(0), x2: W - 4, y2: y(0), stroke: "#c9ced8" }));
  s.append(svg("line", { x1: L, y1: T, x2: L, y2: y(0), stroke: "#c9ced8" }));
  for (const v of [0, ymax / 2, ymax]) {
    const label = svg("text", { x: L - 4, y: y(v) + 4, "text-anchor": "end", "font-size": 10, fill: "#6b7383" });
    label.textContent = fmtSeconds(v);
    s.append(label);
  }
  const tl = svg("text", { x: L, y: H - 4, "font-size": 10, fill: "#6b7383" });
  tl.textContent = "-" + WINDOW_MIN + " min";
  s.append(tl);
  s.append(svg("line", { x1: L, y1: y(view.lag_warn_seconds), x2: W - 4, y2: y(view.lag_warn_seconds),
    stroke: "#d99400", "stroke-dasharray": "4 4" }));
  for (const [key, colour, field] of [["e2e_p99", "#3b6fd1", "e2e"], ["replica_lag_seconds", "#9b4fd1", "replica"]]) {
    let seg = [];
    const flush = () => {
      if (seg.length > 0) {
        s.append(svg("polyline", { points: seg.join(" "), fill: "none", stroke: colour, "stroke-width": 2, "data-series": field }));
      }
      seg = [];
    };
    for (const p of points) {
      if (p.t < from) continue;
      if (missing(p[key])) { flush(); continue; }
      seg.push(x(p.t).toFixed(1) + "," + y(p[key]).toFixed(1));
    }
    flush();
  }
  box.append(s);
  return box;
}

function render(view) {
  document.querySelector('[data-field="served-by"]').textContent = view.node + " (" + view.region + ")";
  document.querySelector('[data-field="updated"]').textContent = new Date(view.generated_at).toLocaleTimeString();
  document.querySelector('[data-field="window"]').textContent = String(WINDOW_MIN);
  const regions = document.getElementById("regions");
  regions.replaceChildren(...(view.regions || []).map(regionCard));
  const charts = document.getElementById("charts");
  charts.replaceChildren(...(view.regions || []).map((r) => chart(r.region, (view.history || {})[r.region] || [], view)));
  document.body.setAttribute("data-loaded", "true");
}

function setConnection(ok, text) {
  const c = document.querySelector('[data-field="connection"]');
  c.textContent = text;
  c.classList.toggle("down", !ok);
}

async function poll() {
  try {
    const res = await fetch("api/fleet?minutes=" + WINDOW_MIN, { cache: "no-store" });
    if (!res.ok) throw new Error("HTTP " + res.status);
    render(await res.json());
    setConnection(true, "live");
  } catch (err) {
    setConnection(false, "cannot reach node: " + err.message);
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

poll();
