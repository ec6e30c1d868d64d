// graphengine studio: draws /api/state, follows /api/version, tries values through /api/try.
"use strict";

const POLL_MS = 400;
let state = null;
let selected = null;
let shownVersion = -1;
let busy = false;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function show(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

async function getJSON(url, options) {
  const response = await fetch(url, Object.assign({ cache: "no-store" }, options || {}));
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

async function load() {
  const next = await getJSON("/api/state");
  await apply(next);
}

async function apply(next) {
  state = next;
  shownVersion = next.version;
  document.getElementById("title").textContent = next.name || "graphengine studio";
  document.getElementById("file").textContent = next.file;
  drawStatus();
  drawProblems();
  await drawGraph();
  drawPanel();
}

function drawStatus() {
  const status = document.getElementById("status");
  status.dataset.version = String(state.version);
  status.classList.toggle("failed", !state.ok);
  const computed = state.computed.length ? state.computed.join(", ") : "nothing (all cached)";
  status.textContent = state.ok
    ? `${state.trigger} — ran in ${state.seconds.toFixed(2)} s; computed: ${computed}`
    : `${state.trigger} — failed; showing the last good run`;
  const trials = document.getElementById("trials");
  const tried = Object.entries(state.trials);
  trials.hidden = !tried.length;
  trials.replaceChildren(
    document.createTextNode("trying: " + tried.map(([k, v]) => `${k} = ${show(v)}`).join(", ") + " "),
    el("button", { text: "take back all", id: "take-back-all", onclick: () => post("/api/take-back", {}) })
  );
  const warnings = document.getElementById("warnings");
  warnings.hidden = !state.warnings.length;
  warnings.textContent = state.warnings.join("\n");
}

function drawProblems() {
  const box = document.getElementById("problems");
  box.hidden = !state.problems.length;
  box.textContent = state.problems.map((p) => p.message).join("\n");
}

async function drawGraph() {
  const holder = document.getElementById("graph");
  holder.classList.toggle("stale", Boolean(state.stale));
  if (!state.order.length) {
    holder.textContent = "";
    return;
  }
  const response = await fetch(`/api/graph.svg?v=${state.version}`, { cache: "no-store" });
  holder.innerHTML = await response.text();
  const svg = holder.querySelector("svg");
  if (svg) {
    svg.querySelector("title")?.remove();
    // fit the width, but never shrink below 70 %: scroll instead
    const natural = Number(svg.getAttribute("width"));
    svg.style.width = `${Math.max(Math.min(natural, holder.clientWidth - 2), natural * 0.7)}px`;
  }
  const troubled = new Set(state.problems.map((p) => p.node).filter(Boolean));
  for (const group of holder.querySelectorAll("g.node")) {
    const id = group.dataset.node;
    group.classList.toggle("recomputed", state.computed.includes(id));
    group.classList.toggle("problem", troubled.has(id));
    group.classList.toggle("selected", id === selected);
    group.addEventListener("click", () => select(id));
  }
}

function select(id) {
  selected = id;
  for (const group of document.querySelectorAll("#graph g.node")) {
    group.classList.toggle("selected", group.dataset.node === id);
  }
  drawPanel();
}

function drawPanel() {
  const panel = document.getElementById("panel");
  const node = selected && state.nodes[selected];
  if (!node) {
    if (selected) selected = null;
    panel.replaceChildren(el("p", { class: "hint", text: "Click a node to hear and see its output." }));
    return;
  }
  panel.dataset.node = node.id;
  const about = [
    el("h2", { text: node.id }),
    el("div", { class: "type", text: node.type }),
    el("div", { class: "summary", text: node.summary }),
  ];
  for (const problem of state.problems.filter((p) => p.node === node.id)) {
    about.push(el("div", { class: "problem", text: problem.message }));
  }
  if (node.cache) {
    const cache = node.cache;
    const fused = cache.fused ? ` (fused: ${cache.fused})` : "";
    about.push(
      el("div", { class: "cache", id: "cache" },
        el("span", { class: "status", text: cache.status }),
        document.createTextNode(` ${cache.seconds.toFixed(3)} s${fused} — `),
        el("span", { class: "reason", text: cache.reason || "" }))
    );
  }
  about.push(el("h3", { text: "ports" }), ports(node));
  about.push(el("h3", { text: "parameters" }), params(node));
  const values = node.values.map(valueView);
  if (!node.values.length) {
    const why = node.sink ? "a sink: graphengine render writes its files" : "no value (the last run failed before this node)";
    values.push(el("p", { class: "muted", text: why }));
  }
  const parts = [el("div", { class: "columns" }, el("div", { class: "values" }, ...values), el("div", { class: "about" }, ...about))];
  panel.replaceChildren(...parts);
}

function ports(node) {
  const rows = [];
  for (const port of node.inputs) {
    rows.push(el("tr", {}, el("td", { text: "in" }), el("td", {}, el("code", { text: port.name })),
      el("td", { text: port.type }), el("td", { class: "muted", text: port.from.length ? "← " + port.from.join(", ") : "not connected" })));
  }
  for (const port of node.outputs) {
    rows.push(el("tr", {}, el("td", { text: "out" }), el("td", {}, el("code", { text: port.name })),
      el("td", { text: port.type }), el("td")));
  }
  const head = el("tr", {}, ...["", "port", "type", "connected to"].map((t) => el("th", { text: t })));
  return el("table", { class: "ports" }, head, ...rows);
}

function valueView(value) {
  const box = el("div", { class: "value", "data-port": value.port },
    el("h3", { text: `output ${value.port} (${value.type})` }),
    el("div", { class: "repr", text: value.repr }));
  if (value.audio) {
    // keep a player whose sound did not change, so a refresh does not stop it
    const kept = [...document.querySelectorAll("#panel audio")].find((a) => a.getAttribute("src") === value.audio.url);
    const audio = kept || el("audio", { controls: true, preload: "auto", src: value.audio.url, "data-port": value.port,
      "data-duration": value.audio.duration_s });
    box.append(audio);
    if (value.audio.player_s < value.audio.duration_s) {
      box.append(el("div", { class: "muted", text: `player: the first ${value.audio.player_s} s of ${value.audio.duration_s.toFixed(1)} s` }));
    }
  }
  for (const [name, url] of Object.entries(value.pictures)) {
    box.append(el("img", { src: url, alt: `${name} of ${value.port}`, "data-picture": name, "data-port": value.port }));
  }
  if (value.table) {
    const head = el("tr", {}, ...value.table.columns.map((c) => el("th", { text: c })));
    const rows = value.table.rows.map((row) => el("tr", {}, ...row.map((cell) =>
      el("td", { text: typeof cell === "number" ? Number(cell.toPrecision(6)).toString() : show(cell) }))));
    box.append(el("table", { class: "values" }, head, ...rows));
    if (value.table.total > value.table.rows.length) {
      box.append(el("div", { class: "muted", text: `first ${value.table.rows.length} of ${value.table.total}` }));
    }
  }
  return box;
}

function params(node) {
  if (!node.params.length) return el("p", { class: "muted", text: "no parameters" });
  const rows = node.params.map((param) => {
    let input;
    if (param.choices && !Array.isArray(param.value)) {
      input = el("select", { "data-param": param.key },
        ...param.choices.map((c) => el("option", { value: show(c), text: show(c), selected: show(c) === show(param.value) })));
      input.addEventListener("change", () => tryValue(param.key, input.value));
    } else if (param.kind === "bool") {
      input = el("input", { type: "checkbox", "data-param": param.key, checked: param.value === true });
      input.addEventListener("change", () => tryValue(param.key, input.checked ? "true" : "false"));
    } else {
      const text = typeof param.value === "string" ? param.value : show(param.value);
      input = el("input", { type: "text", "data-param": param.key, value: text });
      // "change" comes on Enter and when the field loses focus
      input.addEventListener("change", () => {
        if (input.value.trim() !== "") tryValue(param.key, input.value);
      });
    }
    const back = param.tried ? el("button", { text: "take back", "data-take-back": param.key, onclick: () => takeBack(param.key) }) : null;
    return el("tr", { class: param.tried ? "tried" : "", title: param.description || "" },
      el("td", {}, el("code", { text: param.name })),
      el("td", {}, input, back),
      el("td", { text: param.unit || "" }),
      el("td", { class: "muted", text: param.bounds || "" }));
  });
  const head = el("tr", {}, el("th", { text: "name" }), el("th", { text: "value (try: Enter)" }),
    el("th", { text: "unit" }), el("th", { text: "allowed" }));
  return el("table", { class: "params" }, head, ...rows);
}

async function post(url, body) {
  busy = true;
  document.getElementById("status").textContent = "running…";
  try {
    await apply(await getJSON(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) }));
  } catch (error) {
    const box = document.getElementById("problems");
    box.hidden = false;
    box.textContent = String(error.message || error);
  } finally {
    busy = false;
  }
}

function tryValue(key, value) {
  const node = state.nodes[key.slice(0, key.lastIndexOf("."))];
  const param = node && node.params.find((p) => p.key === key);
  if (param && show(param.value) === value && !param.tried) return;
  return post("/api/try", { key, value });
}

function takeBack(key) {
  return post("/api/take-back", { key });
}

async function follow() {
  try {
    if (!busy) {
      const { version } = await getJSON("/api/version");
      if (version !== shownVersion) await load();
    }
  } catch (error) {
    document.getElementById("status").textContent = "the studio server stopped";
  }
  setTimeout(follow, POLL_MS);
}

load().then(follow);
