// needlepen web page: live charts and controls for one pen, through the
// local server's websocket; the simulator tab.  No build step, no network:
// Plotly (the simulator's plots) comes from the server (the plotly
// package's plotly.min.js).
"use strict";

const S = window.needlepen = {        // the page's state (tests read it)
  tab: null, virtual: false, link: {state: "connecting", message: ""}, info: null, status: null,
  log: [], faultsDoc: {}, levers: null, scenarios: [], rate: 20, viewers: [],
  tele: null, points: 0, latency: [], firstPointAt: null, chartsAt: null,
  answers: [], activity: [], pending: {}, sim: null, ws: null, nextId: 1, connected: false, linkStates: [],
};
const WINDOW_S = 30;                  // the charts' scrolling window
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
const mmss = (s) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`;
const clock = (t) => new Date(t * 1000).toLocaleTimeString();

// ---- live charts ------------------------------------------------------------------------
// Strip charts on canvas: six of them redraw in about a millisecond, so the
// page keeps up with the telemetry (Plotly's extendTraces took 8-17 ms per
// chart per update in headless Chromium, docs/web.md).  Plotly draws the
// simulator's finished runs, where zoom and pan matter more than speed.
const CHARTS = [
  {id: "chart-rate", title: "stroke rate, strokes/s", zero: true, traces: [
    {name: "measured", get: (t) => t.rate / 100, color: "#2856c7"},
    {name: "target", get: (t) => t.tgt / 100, color: "#16803c", dash: [6, 4]}]},
  {id: "chart-duty", title: "duty, %", zero: true, traces: [
    {name: "duty", get: (t) => t.duty * 100 / 65535, color: "#7c3aed"}]},
  {id: "chart-depth", title: "depth, mm", zero: true, traces: [
    {name: "measured", get: (t) => t.d / 1000, color: "#0e7490"},
    {name: "target", get: (t) => t.dt / 1000, color: "#155e75", dash: [2, 3]},
    {name: "limit", get: (t) => t.lim / 1000, color: "#b42318", dash: [6, 4]}]},
  {id: "chart-current", title: "motor current, mA", zero: true, traces: [
    {name: "current", get: (t) => t.ma, color: "#b54708"}]},
  {id: "chart-temp", title: "motor temperature, °C", minSpan: 2, traces: [
    {name: "temperature", get: (t) => t.dc / 10, color: "#c2410c"}]},
  {id: "chart-battery", title: "battery, V", minSpan: 0.2, traces: [
    {name: "battery", get: (t) => t.mv / 1000, color: "#15803d"}]},
];
const SKIN = "rgba(222, 160, 110, 0.35)", FAULT = "rgba(220, 38, 38, 0.20)";

function niceStep(span, n) {
  const raw = span / n, p = Math.pow(10, Math.floor(Math.log10(raw))), f = raw / p;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * p;
}

class Strip {
  constructor(spec) {
    this.spec = spec;
    this.el = $(spec.id);
    this.canvas = document.createElement("canvas");
    this.el.appendChild(this.canvas);
    this.x = []; this.skin = []; this.fault = [];
    this.traces = spec.traces.map((tr) => ({name: tr.name, y: []}));
    this.mouse = null;
    this.canvas.onmousemove = (e) => { this.mouse = e.offsetX; this.draw(); };
    this.canvas.onmouseleave = () => { this.mouse = null; this.draw(); };
  }
  clear() { this.x = []; this.skin = []; this.fault = []; this.traces.forEach((t) => { t.y = []; }); }
  push(m) {
    this.x.push(m.x);
    this.skin.push(m.skin ? 1 : 0);
    this.fault.push(m.f && m.f.length ? 1 : 0);
    this.spec.traces.forEach((tr, i) => this.traces[i].y.push(tr.get(m)));
  }
  trim(xmin) {
    let k = 0;
    while (k < this.x.length - 1 && this.x[k + 1] < xmin) k++;
    if (k > 0) {
      this.x.splice(0, k); this.skin.splice(0, k); this.fault.splice(0, k);
      this.traces.forEach((t) => t.y.splice(0, k));
    }
  }
  draw() {
    const dpr = window.devicePixelRatio || 1, W = this.el.clientWidth, H = this.el.clientHeight;
    if (!W || !H) return;
    if (this.canvas.width !== Math.round(W * dpr) || this.canvas.height !== Math.round(H * dpr)) {
      this.canvas.width = Math.round(W * dpr); this.canvas.height = Math.round(H * dpr);
      this.canvas.style.width = `${W}px`; this.canvas.style.height = `${H}px`;
    }
    const g = this.canvas.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, W, H);
    const L = 46, R = 16, T = 24, B = 20, pw = W - L - R, ph = H - T - B;
    this.trim((this.x.length ? this.x[this.x.length - 1] : 0) - WINDOW_S - 1);
    const n = this.x.length;
    // the last WINDOW_S seconds; less at first, so that the data fills the width
    const xmax = n ? this.x[n - 1] : WINDOW_S, xmin = n ? Math.max(this.x[0], xmax - WINDOW_S) : 0;
    const span = Math.max(xmax - xmin, 2);
    let lo = Infinity, hi = -Infinity;
    for (const t of this.traces) for (const v of t.y) { if (v < lo) lo = v; if (v > hi) hi = v; }
    if (!isFinite(lo)) { lo = 0; hi = 1; }
    if (this.spec.zero) lo = Math.min(0, lo);
    const minSpan = this.spec.minSpan || 1;
    if (hi - lo < minSpan) { const c = (hi + lo) / 2; lo = this.spec.zero && lo >= 0 ? 0 : c - minSpan / 2; hi = lo + Math.max(minSpan, hi - lo); }
    const step = niceStep(hi - lo, 4);
    lo = Math.floor(lo / step) * step; hi = Math.ceil(hi / step) * step;
    if (hi === lo) hi = lo + step;
    const X = (x) => L + (x - xmin) / span * pw, Y = (v) => T + ph - (v - lo) / (hi - lo) * ph;
    // shading: needles in skin, fault latched
    for (const [band, color] of [[this.skin, SKIN], [this.fault, FAULT]]) {
      g.fillStyle = color;
      let s = -1;
      for (let i = 0; i <= n; i++) {
        const on = i < n && band[i];
        if (on && s < 0) s = i;
        if (!on && s >= 0) {
          const x0 = Math.max(L, X(this.x[s])), x1 = Math.min(L + pw, X(this.x[Math.min(i, n - 1)]));
          if (x1 > x0) g.fillRect(x0, T, x1 - x0, ph);
          s = -1;
        }
      }
    }
    // grid and ticks
    g.font = "10px system-ui, sans-serif"; g.fillStyle = "#6b7280"; g.strokeStyle = "#eceef2"; g.lineWidth = 1;
    g.textAlign = "right"; g.textBaseline = "middle";
    const digits = step < 0.1 ? 2 : step < 1 ? 1 : 0;
    for (let v = lo; v <= hi + step / 2; v += step) {
      const y = Math.round(Y(v)) + 0.5;
      g.beginPath(); g.moveTo(L, y); g.lineTo(L + pw, y); g.stroke();
      g.fillText(v.toFixed(digits), L - 4, y);
    }
    g.textAlign = "center"; g.textBaseline = "top";
    const xs = niceStep(span, 6);
    for (let x = Math.ceil(xmin / xs) * xs; x <= xmax; x += xs) {
      const px = Math.round(X(x)) + 0.5;
      g.beginPath(); g.moveTo(px, T); g.lineTo(px, T + ph); g.stroke();
      g.fillText(`${x.toFixed(xs < 1 ? 1 : 0)} s`, px, T + ph + 4);
    }
    // traces
    g.save();
    g.beginPath(); g.rect(L, T, pw, ph); g.clip();
    this.spec.traces.forEach((tr, k) => {
      const ys = this.traces[k].y;
      g.strokeStyle = tr.color; g.lineWidth = 1.6; g.setLineDash(tr.dash || []);
      g.beginPath();
      for (let i = 0; i < n; i++) { const px = X(this.x[i]), py = Y(ys[i]); if (i) g.lineTo(px, py); else g.moveTo(px, py); }
      g.stroke();
    });
    g.restore();
    g.setLineDash([]);
    // title and legend
    g.textAlign = "left"; g.textBaseline = "alphabetic"; g.fillStyle = "#1d2330"; g.font = "600 12px system-ui, sans-serif";
    g.fillText(this.spec.title, 8, 15);
    let lx = W - R;
    g.font = "10px system-ui, sans-serif"; g.textAlign = "right";
    for (let k = this.spec.traces.length - 1; k >= 0 && this.spec.traces.length > 1; k--) {
      const tr = this.spec.traces[k];
      g.fillStyle = "#4b5563"; g.fillText(tr.name, lx, 15);
      lx -= g.measureText(tr.name).width + 4;
      g.strokeStyle = tr.color; g.lineWidth = 2; g.setLineDash(tr.dash || []);
      g.beginPath(); g.moveTo(lx - 14, 11); g.lineTo(lx, 11); g.stroke(); g.setLineDash([]);
      lx -= 24;
    }
    // a readout where the mouse is
    if (this.mouse !== null && n && this.mouse >= L && this.mouse <= L + pw) {
      const xv = xmin + (this.mouse - L) / pw * span;
      let i = 0;
      while (i < n - 1 && this.x[i + 1] <= xv) i++;
      const px = X(this.x[i]);
      g.strokeStyle = "#9ca3af"; g.beginPath(); g.moveTo(px, T); g.lineTo(px, T + ph); g.stroke();
      const text = `${this.x[i].toFixed(2)} s  ` + this.spec.traces.map((tr, k) => `${tr.name} ${this.traces[k].y[i].toFixed(2)}`).join("  ");
      g.font = "11px system-ui, sans-serif"; g.textAlign = px > L + pw / 2 ? "right" : "left";
      g.fillStyle = "rgba(255,255,255,0.85)";
      const tw = g.measureText(text).width;
      g.fillRect(px > L + pw / 2 ? px - tw - 8 : px + 2, T + 2, tw + 6, 15);
      g.fillStyle = "#1d2330"; g.fillText(text, px > L + pw / 2 ? px - 5 : px + 5, T + 13);
    }
  }
}

S.charts = {};
function makeCharts() {
  for (const c of CHARTS) S.charts[c.id] = new Strip(c);
  new ResizeObserver(() => drawAll()).observe($("charts"));
  S.chartsAt = performance.now();
}

function drawAll() { for (const c of Object.values(S.charts)) c.draw(); }

let queued = [];
let scheduled = false;

function schedule() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(flush);
  setTimeout(flush, 150);            // a hidden tab gets no animation frames
}

function flush() {
  if (!scheduled) return;
  scheduled = false;
  const batch = queued;
  queued = [];
  if (!batch.length) return;
  if (!S.paused) {
    for (const m of batch) for (const c of Object.values(S.charts)) c.push(m);
    drawAll();
  }
  const now = performance.timeOrigin + performance.now();
  for (const m of batch) if (m.rx) S.latency.push(now - m.rx);
  if (S.latency.length > 5000) S.latency.splice(0, S.latency.length - 5000);
  S.points += batch.length;
  if (S.firstPointAt === null) S.firstPointAt = performance.now();
}

function history(points) {
  for (const c of Object.values(S.charts)) { c.clear(); for (const m of points) c.push(m); }
  drawAll();
}

// ---- the server -----------------------------------------------------------------------
function connect() {
  const ws = new WebSocket(`ws://${location.host}/ws`);
  S.ws = ws;
  ws.onmessage = (ev) => handle(JSON.parse(ev.data));
  ws.onclose = () => {
    S.connected = false;
    S.ws = null;
    setLink({state: "server", message: "no connection to the needlepen web server (stopped?): reconnecting every 2 s; nothing you click is sent meanwhile"});
    setTimeout(connect, 2000);
  };
}

function handle(m) {
  switch (m.type) {
    case "hello": return hello(m);
    case "link": return setLink(m);
    case "info": return setInfo(m.info);
    case "status": return setStatus(m);
    case "log": return setLog(m.entries);
    case "history":
      history(m.points);
      if (m.points.length) live(m.points[m.points.length - 1]);
      return;
    case "T":
      queued.push(m);
      live(m);
      return schedule();
    case "answer": return answer(m);
    case "note": return addActivity(m);
    case "activity": $("activity").innerHTML = ""; S.activity = []; m.entries.forEach(addActivity); return;
    case "viewers": return viewers(m.tabs);
    case "sim": return simMessage(m);
  }
}

function send(line) {
  line = line.trim();
  if (!line) return;
  if (!S.ws || S.ws.readyState !== WebSocket.OPEN) {
    return showAnswer({ok: false, line, code: "not_sent", text: "not sent: no connection to the server (reconnecting)", tab: S.tab});
  }
  const id = S.nextId++;
  S.pending[id] = line;
  S.ws.send(JSON.stringify({type: "cmd", line, id}));
  const box = $("answer");
  box.className = "answer";
  box.textContent = `${line} ...`;
  setTimeout(() => {
    if (S.pending[id] !== undefined) {
      delete S.pending[id];
      showAnswer({ok: false, line, code: "timeout", text: "no answer from the server within 20 s", tab: S.tab});
    }
  }, 20000);
}

function hello(m) {
  S.tab = m.tab; S.virtual = m.virtual; S.faultsDoc = m.faults; S.faultLines = m.fault_lines; S.levers = m.levers;
  S.scenarios = m.scenarios; S.rate = m.rate_hz; S.connected = true;
  document.title = `needlepen (tab ${m.tab})`;
  $("clearing").textContent = m.clearing;
  renderFaults([]);
  $("levers").hidden = !m.virtual;
  $("key-skin").textContent = m.virtual ? "needles in skin (the skin lever)" : "skin contact (estimated from the motor current)";
  if (m.virtual) setupLevers(m.levers);
  const sel = $("scenario");
  sel.innerHTML = m.scenarios.map((s) => `<option value="${esc(s.name)}">${esc(s.name)} (${s.minutes} min): ${esc(s.description)}</option>`).join("");
}

function setLink(m) {
  if (m !== S.link) S.linkStates.push(m.state);
  S.link = m;
  const el = $("link");
  el.className = `link ${m.state}`;
  $("link-text").textContent = m.message;
  const up = m.state === "connected";
  document.querySelectorAll("#page-pen button, #page-pen input, #page-pen select").forEach((e) => {
    if (e.id !== "session-reset" && e.id !== "pause") e.disabled = !up;
  });
}

function viewers(tabs) {
  S.viewers = tabs;
  const others = tabs.filter((t) => t !== S.tab);
  $("viewers").textContent = `tab ${S.tab}` + (others.length ? `; also watching: tab ${others.join(", tab ")}` : "");
}

// ---- the pen's state ----------------------------------------------------------------------
function setInfo(info) {
  S.info = info;
  const zone = $("zone"), prof = $("profile");
  const z = zone.value, p = prof.value;
  zone.innerHTML = info.zones.map((n) => `<option>${esc(n)}</option>`).join("");
  prof.innerHTML = info.profiles.map((n) => `<option>${esc(n)}</option>`).join("");
  if (z) zone.value = z;
  if (p) prof.value = p;
  $("speeds").innerHTML = info.levels_sps.map((sps, i) =>
    `<button data-level="${i + 1}" title="${sps} strokes/s">${i + 1}<span class="muted"> ${sps}</span></button>`).join("");
  $("speeds").querySelectorAll("button").forEach((b) => { b.onclick = () => send(`speed ${b.dataset.level}`); });
  $("v-fw").textContent = `${info.firmware} · ${info.board} · ${info.pen_id || "no id"}`;
  if (S.virtual && S.levers) {
    $("cartridge").innerHTML = ["none", ...info.cartridges].map((n) => `<option>${esc(n)}</option>`).join("");
    $("cartridge").value = info.cartridges[1] || info.cartridges[0];
  }
  setLink(S.link);
}

let shownZone = "";
function setStatus(m) {
  const s = m.status;
  S.status = s;
  S.session = {run_s: m.run_s, since: m.since};
  const [lo, hi] = s.limit_um;
  $("v-zone").textContent = `${s.zone} (${s.profile})`;
  const key = `${s.zone}/${s.profile}`;
  if (key !== shownZone) { shownZone = key; $("zone").value = s.zone; $("profile").value = s.profile; }
  const depth = $("depth");
  depth.min = (lo / 1000).toFixed(2);
  depth.max = (hi / 1000).toFixed(2);
  $("depth-limit").textContent = `limit ${(lo / 1000).toFixed(2)}–${(hi / 1000).toFixed(2)} mm`;
  $("v-cart").textContent = s.cartridge ? `${s.cartridge}, used ${mmss(s.cartridge_use_s)}` : "none";
  const warn = s.warnings.length ? ` · warnings: ${s.warnings.join(", ")}` : "";
  const refused = s.refused.length ? ` · start refused: ${s.refused.join(", ")}` : "";
  $("v-batt").textContent = `${(s.battery_mv / 1000).toFixed(2)} V${warn}${refused}`;
  if (s.faults.includes("integrity")) {
    $("v-integrity").innerHTML = `<b class="bad">FAULT</b>: ${esc(S.faultsDoc.integrity[0])}; deploy again`;
  } else if (s.storage) {
    $("v-integrity").textContent = `storage problem: ${s.storage}`;
  } else {
    $("v-integrity").textContent = "files match the signed manifest (checked at boot)";
  }
  if (!S.tele) live({st: s.state, rate: s.rate_sps * 100, tgt: s.target_sps * 100, lv: s.level, d: s.depth_um,
                     dt: s.depth_target_um, lim: hi, mv: s.battery_mv, dc: s.temp_c * 10, ma: s.current_ma,
                     f: s.faults, run_s: m.run_s});
  session();
}

let shownFaults = null;
function live(t) {
  S.tele = t;
  const st = $("state");
  st.textContent = t.st;
  st.className = `state ${t.st}`;
  $("v-rate").textContent = `${(t.rate / 100).toFixed(1)} / ${(t.tgt / 100).toFixed(0)} strokes/s, level ${t.lv}`;
  $("v-depth").textContent = `${(t.d / 1000).toFixed(2)} mm (target ${(t.dt / 1000).toFixed(2)}, limit ${(t.lim / 1000).toFixed(2)})`;
  $("v-motor").textContent = `${(t.dc / 10).toFixed(1)} °C, ${t.ma} mA, duty ${Math.round((t.duty || 0) * 100 / 65535)} %`;
  $("speeds").querySelectorAll("button").forEach((b) => b.classList.toggle("current", Number(b.dataset.level) === t.lv));
  const key = (t.f || []).join(",");
  if (key !== shownFaults) {
    shownFaults = key;
    renderFaults(t.f || []);
    $("v-faults").innerHTML = key ? `<b class="bad">${esc(t.f.join(", "))}</b> <a href="#latched">what to do</a>` : "none";
  }
  if (S.session && t.run_s !== undefined) S.session.run_s = t.run_s;
  session();
}

function session() {
  if (!S.session) return;
  const since = Date.now() / 1000 - S.session.since;
  $("v-session").textContent = `motor on ${mmss(S.session.run_s || 0)} of ${mmss(since)}`;
}
setInterval(session, 1000);

function renderFaults(latched) {
  $("latched").innerHTML = latched.length ? latched.map((n) => {
    const [cause, , gone] = S.faultsDoc[n] || [S.faultLines[n] || n, "", "see docs/faults.md"];
    return `<div class="fault-card" data-fault="${esc(n)}"><b>${esc(n)}</b> latched: ${esc(cause)}.
      <div class="how">Cause gone when: ${esc(gone)}. Then, with the motor off, press Clear faults.</div></div>`;
  }).join("") : `<div class="none">no fault latched</div>`;
  const names = [...new Set([...Object.keys(S.faultsDoc), ...Object.keys(S.faultLines || {})])];
  names.sort((a, b) => (latched.includes(b) - latched.includes(a)));
  $("faults").querySelector("tbody").innerHTML = names.map((n) => {
    const [cause, detect, gone] = S.faultsDoc[n] || [S.faultLines[n], "", "(not in docs/faults.md yet)"];
    return `<tr class="${latched.includes(n) ? "latched" : ""}" data-fault="${esc(n)}"><td>${esc(n)}</td><td>${esc(cause)}</td><td>${esc(detect)}</td><td>${esc(gone)}</td></tr>`;
  }).join("");
}

function setLog(entries) {
  S.log = entries;
  $("log").querySelector("tbody").innerHTML = entries.slice().reverse().map((e) =>
    `<tr class="${esc(e.kind)}"><td>${e.seq}</td><td>${e.boot}</td><td>${mmss(e.ms / 1000)}.${String(e.ms % 1000).padStart(3, "0").slice(0, 1)}</td><td>${esc(e.kind)}</td><td>${esc(e.detail)}</td></tr>`).join("");
}

// ---- answers and activity -------------------------------------------------------------------
function answerText(m) {
  if (m.ok) return `${m.line} → OK ${m.text}`;
  return m.code === "not_sent" || m.code === "timeout" ? `${m.line} → ${m.text}` : `${m.line} → ${m.code}: ${m.text}`;
}

function showAnswer(m) {
  const box = $("answer");
  box.className = `answer ${m.ok ? "ok" : "err"}`;
  box.textContent = answerText(m);
}

function answer(m) {
  if (m.tab === S.tab && S.pending[m.id] !== undefined) {
    delete S.pending[m.id];
    S.answers.push(m);
    showAnswer(m);
  } else if (m.tab !== S.tab) {
    const box = $("answer");
    box.className = `answer ${m.ok ? "ok" : "err"}`;
    box.textContent = `tab ${m.tab} sent: ${answerText(m)}`;
  }
  addActivity(m);
}

function addActivity(m) {
  S.activity.push(m);
  const li = document.createElement("li");
  const when = clock(m.time || Date.now() / 1000);
  if (m.type === "note") {
    li.className = "note";
    li.textContent = `${when} pen: ${m.text}`;
  } else {
    li.className = m.ok ? "" : "err";
    const who = m.tab === S.tab ? "this tab" : `tab ${m.tab}`;
    const text = answerText(m);
    li.innerHTML = `${when} <span class="who">${esc(who)}</span> ${esc(text.length > 200 ? text.slice(0, 200) + "…" : text)}`;
  }
  const ul = $("activity");
  ul.insertBefore(li, ul.firstChild);
  while (ul.children.length > 60) ul.removeChild(ul.lastChild);
}

// ---- controls ---------------------------------------------------------------------------------
function setupControls() {
  $("set-zone").onclick = () => send(`zone ${$("zone").value} ${$("profile").value}`);
  $("set-depth").onclick = () => send(`depth ${$("depth").value}`);
  $("depth").onkeydown = (e) => { if (e.key === "Enter") send(`depth ${$("depth").value}`); };
  $("start").onclick = () => send("start");
  $("stop").onclick = () => send("stop");
  $("clear").onclick = () => send("clear");
  $("send-raw").onclick = () => { send($("raw").value); };
  $("raw").onkeydown = (e) => { if (e.key === "Enter") send($("raw").value); };
  $("pause").onclick = () => {
    S.paused = !S.paused;
    $("pause").textContent = S.paused ? "resume" : "pause";
  };
  $("session-reset").onclick = () => { if (S.ws) S.ws.send(JSON.stringify({type: "session_reset"})); };
  document.querySelectorAll(".tab-button").forEach((b) => {
    b.onclick = () => {
      document.querySelectorAll(".tab-button").forEach((x) => x.classList.toggle("active", x === b));
      $("page-pen").hidden = b.dataset.tab !== "pen";
      $("page-sim").hidden = b.dataset.tab !== "sim";
      window.dispatchEvent(new Event("resize"));
    };
  });
  $("sim-run").onclick = () => simRun({type: "sim_run", name: $("scenario").value});
  $("sim-run-file").onclick = () => {
    const f = $("sim-file").files[0];
    if (!f) return simError("choose a scenario file (.toml) first");
    const r = new FileReader();
    r.onload = () => simRun({type: "sim_run", upload: {filename: f.name, text: r.result}});
    r.onerror = () => simError(`${f.name}: could not read the file`);
    r.readAsText(f);
  };
  $("sim-cancel").onclick = () => { if (S.ws) S.ws.send(JSON.stringify({type: "sim_cancel"})); };
}

function setupLevers(lv) {
  $("tissue").innerHTML = lv.tissues.filter((t) => t !== "none").map((t) => `<option>${esc(t)}</option>`).join("");
  $("tissue").value = "cheek";
  $("fault-kind").innerHTML = lv.faults.map((f) =>
    `<option value="${esc(f.name)}" title="${esc(f.text)}">${esc(f.name)}: ${esc(f.text)}</option>`).join("");
  const hint = () => {
    const f = lv.faults.find((k) => k.name === $("fault-kind").value);
    $("fault-value").placeholder = f && f.takes_value ? `${f.allowed}` : "no value";
    $("fault-value").disabled = !(f && f.takes_value) || S.link.state !== "connected";
  };
  $("fault-kind").onchange = hint;
  hint();
  $("skin-on").onclick = () => send(`sim skin ${$("tissue").value}`);
  $("skin-off").onclick = () => send("sim skin none");
  $("inject").onclick = () => {
    const v = $("fault-value").disabled ? "" : $("fault-value").value.trim();
    send(`sim fault ${$("fault-kind").value}${v ? " " + v : ""}`);
  };
  $("heal").onclick = () => send(`sim heal ${$("fault-kind").value}`);
  $("set-cartridge").onclick = () => send(`sim cartridge ${$("cartridge").value}`);
  $("sim-buttons").innerHTML = lv.buttons.map((b) => `<button data-button="${esc(b)}">${esc(b.replace("_", " "))}</button>`).join("") +
    `<button data-button="power" data-ms="1600" title="1.6 s: clears latched faults whose cause is gone">power long</button>`;
  $("sim-buttons").querySelectorAll("button").forEach((b) => {
    b.onclick = () => send(`sim press ${b.dataset.button}${b.dataset.ms ? " " + b.dataset.ms : ""}`);
  });
  setLink(S.link);
}

// ---- the simulator tab -------------------------------------------------------------------------
function simRun(req) {
  if (!S.ws || S.ws.readyState !== WebSocket.OPEN) return simError("no connection to the server (reconnecting)");
  $("sim-error").hidden = true;
  S.ws.send(JSON.stringify(req));
}

function simError(text) {
  const el = $("sim-error");
  el.textContent = text;
  el.hidden = false;
}

function simMessage(m) {
  const prog = $("sim-progress");
  if (m.state === "running") {
    prog.hidden = false;
    prog.querySelector(".bar").style.width = `${Math.round(m.progress * 100)}%`;
    prog.querySelector(".text").textContent = `${m.name}: ${m.text}` + (m.tab !== S.tab ? ` (started by tab ${m.tab})` : "");
    $("sim-error").hidden = true;
    return;
  }
  prog.hidden = true;
  if (m.state === "error" || m.state === "cancelled") {
    if (m.state === "error" && m.tab !== S.tab && !m.name) return;
    S.simError = m.message;
    return simError(m.message + (m.tab !== S.tab ? ` (tab ${m.tab})` : ""));
  }
  if (m.state === "done") {
    S.sim = m;
    $("sim-result").hidden = false;
    $("sim-title").textContent = `${m.name}: ${m.description} (${m.sim_s.toFixed(0)} s simulated in ${m.wall_s} s)`;
    $("sim-summary").textContent = m.text;
    simPlot(m);
  }
}

let plotly = null;
function withPlotly(fn) {             // plotly.min.js (4.6 MB) is loaded when a plot is first drawn
  if (window.Plotly) return fn();
  if (!plotly) {
    plotly = document.createElement("script");
    plotly.src = "/vendor/plotly.min.js";
    plotly.onerror = () => simError("could not load /vendor/plotly.min.js from the server");
    document.head.appendChild(plotly);
  }
  plotly.addEventListener("load", () => fn(), {once: true});
}

function simPlot(m) {
  const p = m.plot, t = p.t_s;
  const rows = 5, gap = 0.025, h = (1 - gap * (rows - 1)) / rows;
  const dom = (i) => [1 - (i + 1) * h - i * gap, 1 - i * h - i * gap];
  const data = [
    {x: t, y: p.rate_sps, name: "stroke rate", yaxis: "y", line: {color: "#2856c7", width: 1}},
    {x: t, y: p.target_sps, name: "target", yaxis: "y", line: {color: "#16803c", dash: "dash", width: 1}},
    {x: t, y: p.duty.map((d) => d * 100 / 65535), name: "duty %", yaxis: "y2", line: {color: "#7c3aed", width: 1}},
    {x: t, y: p.current_ma, name: "current mA", yaxis: "y3", line: {color: "#b54708", width: 1}},
    {x: t, y: p.depth_um.map((d) => d / 1000), name: "depth mm", yaxis: "y4", line: {color: "#0e7490", width: 1}},
    {x: t, y: p.limit_um.map((d) => d / 1000), name: "limit mm", yaxis: "y4", line: {color: "#b42318", dash: "dash", width: 1}},
    {x: t, y: p.battery_mv.map((v) => v / 1000), name: "battery V", yaxis: "y5", line: {color: "#15803d", width: 1}},
    {x: t, y: p.temp_c, name: "motor °C", yaxis: "y6", line: {color: "#c2410c", width: 1}},
  ].map((d) => ({type: "scatter", mode: "lines", ...d}));
  const shapes = [];
  let start = null;
  for (let i = 0; i <= t.length; i++) {         // skin contact as shaded bands
    const on = i < t.length && p.skin[i];
    if (on && start === null) start = t[i];
    if (!on && start !== null) {
      shapes.push({type: "rect", xref: "x", yref: "paper", x0: start, x1: t[i - 1], y0: 0, y1: 1,
                   fillcolor: "rgba(222, 160, 110, 0.25)", line: {width: 0}, layer: "below"});
      start = null;
    }
  }
  const annotations = [];
  for (const l of m.latched) {
    shapes.push({type: "line", xref: "x", yref: "paper", x0: l.t_s, x1: l.t_s, y0: 0, y1: 1, line: {color: "#dc2626", width: 1}});
    annotations.push({x: l.t_s, y: 1, xref: "x", yref: "paper", text: l.faults.join(", "), showarrow: false,
                      font: {color: "#dc2626", size: 10}, xanchor: "left", yanchor: "bottom"});
  }
  const axis = (i, title) => ({domain: dom(i), title: {text: title, font: {size: 10}}, tickfont: {size: 9}, zeroline: false});
  const layout = {
    margin: {l: 54, r: 50, t: 34, b: 40}, showlegend: true,
    legend: {orientation: "h", x: 0, y: 1.01, yanchor: "bottom", font: {size: 10}},
    xaxis: {title: {text: "scenario time, s"}, anchor: "y5"},
    yaxis: axis(0, "strokes/s"), yaxis2: axis(1, "duty %"), yaxis3: axis(2, "mA"), yaxis4: axis(3, "mm"),
    yaxis5: axis(4, "V"),
    yaxis6: {overlaying: "y5", side: "right", title: {text: "°C", font: {size: 10}}, tickfont: {size: 9}},
    shapes, annotations, paper_bgcolor: "#fff", plot_bgcolor: "#fff",
  };
  withPlotly(() => Plotly.newPlot("sim-plot", data, layout, {responsive: true, displaylogo: false}));
}

makeCharts();
setupControls();
setLink(S.link);
connect();
