// A run's timeline: each attempt a bar on one time axis (sent -> answered, timed out or broken
// off), the wait before each retry as a dashed line, the server's Retry-After marked with a
// diamond. Hand-written SVG. Hovering or focusing a bar shows its status and times; the SVG
// has a title and a description, every bar an accessible name, and the same facts are a table
// one click away ("Timeline as a table").

import { h } from "../dom.js";
import { reason } from "../messages.js";

const SVG = "http://www.w3.org/2000/svg";
const NARROW = 560; // below this width, each lane's label sits above its bars
const LANE = 30;
const LABEL_ROW = 18;
const AXIS = 30;
const BAR = 14;
const MIN_BAR = 4;
const STEPS_S = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

function ms(iso) {
  return iso ? new Date(iso).getTime() : null;
}

export function duration(milliseconds) {
  const v = Math.max(0, milliseconds);
  if (v < 1000) return `${Math.round(v)} ms`;
  if (v < 60000) return `${(v / 1000).toFixed(v < 10000 ? 1 : 0).replace(/\.0$/, "")} s`;
  if (v < 3600000) {
    const m = Math.floor(v / 60000);
    const s = Math.round((v % 60000) / 1000);
    return s ? `${m} min ${s} s` : `${m} min`;
  }
  const hours = Math.floor(v / 3600000);
  const m = Math.round((v % 3600000) / 60000);
  return m ? `${hours} h ${m} min` : `${hours} h`;
}

export function clock(t) {
  return new Date(t).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", fractionalSecondDigits: 3, hour12: false });
}

function ended(a) {
  if (a.outcome === "sending") return "still being sent";
  if (a.error?.type === "timeout") return "timed out";
  if (a.outcome === "interrupted") return "interrupted";
  if (a.status) return "answered";
  return "ended";
}

// The run as lanes of bars: times in ms since the epoch, the axis's start and end.
export function timelineModel(run, now = Date.now()) {
  const finished = Boolean(run.finished_at);
  const lanes = run.steps.map((step, index) => {
    const before = run.steps.slice(index + 1).some((later) => later.id === step.id);
    const attempts = step.attempts.map((a, i) => {
      const start = ms(a.started_at);
      const end = a.ended_at ? ms(a.ended_at) : a.outcome === "sending" && !finished ? now : start + (a.duration_ms ?? 0);
      const due = ms(a.next_attempt_at);
      const next = step.attempts[i + 1];
      return {
        key: `${step.step_run_id}-${a.number}`,
        number: a.number,
        outcome: a.outcome,
        status: a.status ?? null,
        error: a.error ?? null,
        start,
        end: Math.max(end, start),
        how: ended(a),
        timedOut: a.error?.type === "timeout",
        waitUntil: due,
        nextStart: next ? ms(next.started_at) : null,
        retryAfter: a.retry_after ?? null,
      };
    });
    return { id: step.id, label: `${step.id}${before ? " (before resume)" : ""}`, status: step.status, hidden: step.attempts_total - step.attempts.length, attempts };
  });
  const starts = [ms(run.created_at), ...lanes.flatMap((l) => l.attempts.map((a) => a.start))];
  const ends = [
    ms(run.finished_at),
    finished ? null : now,
    ...lanes.flatMap((l) => l.attempts.flatMap((a) => [a.end, a.waitUntil, a.retryAfter !== null ? a.end + a.retryAfter * 1000 : null])),
  ];
  const start = Math.min(...starts.filter((t) => t !== null));
  const end = Math.max(start + 1, ...ends.filter((t) => t !== null));
  return { lanes, start, end, now: finished ? null : now };
}

function tickStep(span, room) {
  const wanted = span / 1000 / Math.max(2, Math.floor(room / 90));
  return (STEPS_S.find((s) => s >= wanted) ?? STEPS_S[STEPS_S.length - 1]) * 1000;
}

function tickLabel(offset, step) {
  // In the unit of the step between ticks, so every label on one axis reads alike.
  if (offset === 0) return "0";
  if (step < 1000) return `${+(offset / 1000).toFixed(3)} s`;
  if (step < 60000) return `${+(offset / 1000).toFixed(1)} s`;
  if (step < 3600000) return `${+(offset / 60000).toFixed(1)} min`;
  return `${+(offset / 3600000).toFixed(1)} h`;
}

function describe(lane, a) {
  const status = a.status ? `, HTTP ${a.status}${reason(a.status) ? ` ${reason(a.status)}` : ""}` : "";
  const error = a.error && !a.status ? `, ${a.error.type.replaceAll("_", " ")}` : "";
  const lines = [`${lane.id}, attempt ${a.number}: ${a.outcome}${status}${error}`, `Sent ${clock(a.start)}; ${a.how} after ${duration(a.end - a.start)}`];
  if (a.waitUntil) lines.push(`Then waited ${duration(a.waitUntil - a.end)} (next attempt due ${clock(a.waitUntil)})`);
  if (a.retryAfter !== null) lines.push(`The server asked to wait ${duration(a.retryAfter * 1000)} (Retry-After)`);
  return lines;
}

function summary(model) {
  const attempts = model.lanes.flatMap((l) => l.attempts);
  const failed = attempts.filter((a) => a.outcome === "failed").length;
  const waits = attempts.filter((a) => a.waitUntil).length;
  const marks = attempts.filter((a) => a.retryAfter !== null).length;
  return `${attempts.length} attempt${attempts.length === 1 ? "" : "s"} over ${duration(model.end - model.start)} in ${model.lanes.length} step run${model.lanes.length === 1 ? "" : "s"}: ${failed} failed, ${waits} retry wait${waits === 1 ? "" : "s"}${marks ? `, ${marks} Retry-After` : ""}.`;
}

function draw(model, width, tip, ids) {
  const narrow = width < NARROW;
  const labelWidth = narrow ? 0 : Math.min(180, Math.round(width * 0.22));
  const x0 = labelWidth + 12;
  const x1 = width - 16;
  const span = model.end - model.start;
  const x = (t) => x0 + ((t - model.start) / span) * (x1 - x0);
  const laneHeight = narrow ? LANE + LABEL_ROW : LANE;
  const height = model.lanes.length * laneHeight + AXIS + 8;
  const top = 4;
  const parts = [];
  const step = tickStep(span, x1 - x0);
  for (let offset = 0; offset <= span + 1; offset += step) {
    const tx = x(model.start + offset);
    parts.push(svg("line", { class: "tl-grid", x1: tx, x2: tx, y1: top, y2: height - AXIS + 4 }), svg("text", { class: "tl-tick", x: tx, y: height - AXIS + 20, "text-anchor": offset === 0 ? "start" : "middle" }, tickLabel(offset, step)));
  }
  model.lanes.forEach((lane, index) => {
    const laneTop = top + index * laneHeight;
    const y = laneTop + (narrow ? LABEL_ROW : 0) + (LANE - BAR) / 2;
    const mid = y + BAR / 2;
    parts.push(svg("text", { class: "tl-label", x: narrow ? x0 : labelWidth, y: narrow ? laneTop + 13 : mid + 4, "text-anchor": narrow ? "start" : "end" }, lane.label));
    parts.push(svg("line", { class: "tl-lane", x1: x0, x2: x1, y1: mid, y2: mid }));
    for (const a of lane.attempts) {
      if (a.waitUntil) parts.push(svg("line", { class: "tl-wait", x1: x(a.end), x2: x(a.waitUntil), y1: mid, y2: mid }));
      if (a.retryAfter !== null) {
        const rx = x(a.end + a.retryAfter * 1000);
        parts.push(svg("path", { class: "tl-retry-after", d: `M${rx} ${y - 3} l5 ${BAR / 2 + 3} l-5 ${BAR / 2 + 3} l-5 ${-(BAR / 2 + 3)} Z` }));
      }
    }
    for (const a of lane.attempts) {
      const left = x(a.start);
      const barWidth = Math.max(MIN_BAR, x(a.end) - left);
      const lines = describe(lane, a);
      const bar = svg(
        "g",
        { class: `tl-attempt outcome-${a.outcome}${a.timedOut ? " timed-out" : ""}`, tabindex: 0, role: "img", "aria-label": lines.join(". "), "data-key": a.key, "data-outcome": a.outcome },
        svg("rect", { class: "tl-bar", x: left, y, width: barWidth, height: BAR, rx: 2 }),
        a.timedOut ? svg("line", { class: "tl-cut", x1: left + barWidth, x2: left + barWidth, y1: y - 3, y2: y + BAR + 3 }) : null,
      );
      const show = () => tip.show(bar, lines);
      bar.addEventListener("pointerenter", show);
      bar.addEventListener("focus", show);
      bar.addEventListener("pointerleave", () => tip.hide(bar));
      bar.addEventListener("blur", () => tip.hide(bar));
      bar.addEventListener("keydown", (event) => { if (event.key === "Escape") tip.hide(bar, true); });
      parts.push(bar);
    }
  });
  if (model.now !== null) {
    const nx = x(model.now);
    parts.push(svg("line", { class: "tl-now", x1: nx, x2: nx, y1: top, y2: height - AXIS + 4 }), svg("text", { class: "tl-tick tl-now-label", x: nx - 4, y: top + 10, "text-anchor": "end" }, "now"));
  }
  return svg(
    "svg",
    { class: "tl-svg", width, height, viewBox: `0 0 ${width} ${height}`, role: "group", "aria-labelledby": ids.title, "aria-describedby": ids.desc },
    svg("title", { id: ids.title }, "Timeline of the attempts"),
    svg("desc", { id: ids.desc }, summary(model)),
    parts,
  );
}

function tooltip(plot) {
  const box = h("div", { class: "tl-tip", role: "tooltip", hidden: true });
  let owner = null;
  return {
    element: box,
    show(bar, lines) {
      owner = bar;
      box.replaceChildren(...lines.map((line, i) => h(i ? "span" : "strong", {}, line)));
      box.hidden = false;
      const area = plot.getBoundingClientRect();
      const mark = bar.getBoundingClientRect();
      const left = Math.min(Math.max(0, mark.left - area.left), Math.max(0, area.width - box.offsetWidth));
      box.style.left = `${left}px`;
      box.style.top = `${mark.bottom - area.top + 6}px`;
    },
    hide(bar, force = false) {
      if (owner !== bar && !force) return;
      if (!force && (bar.matches(":hover") || document.activeElement === bar)) return;
      box.hidden = true;
      owner = null;
    },
  };
}

function table(model) {
  const rows = model.lanes.flatMap((lane) =>
    lane.attempts.map((a) =>
      h(
        "tr",
        {},
        h("th", { scope: "row" }, `${lane.label} #${a.number}`),
        h("td", {}, a.outcome, a.status ? ` (HTTP ${a.status})` : ""),
        h("td", {}, clock(a.start)),
        h("td", {}, `${a.how}, ${duration(a.end - a.start)}`),
        h("td", {}, a.waitUntil ? `${duration(a.waitUntil - a.end)}, until ${clock(a.waitUntil)}` : "—"),
        h("td", {}, a.retryAfter !== null ? duration(a.retryAfter * 1000) : "—"),
      ),
    ),
  );
  return h(
    "details",
    { class: "tl-table", "data-key": "timeline-table" },
    h("summary", {}, "Timeline as a table"),
    h(
      "div",
      { class: "table-scroll" },
      h(
        "table",
        { class: "table compact" },
        h("caption", { class: "visually-hidden" }, "Attempts, their times and the waits between them"),
        h("thead", {}, h("tr", {}, ["Attempt", "Outcome", "Sent", "Ended", "Then waited", "Retry-After"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, rows),
      ),
    ),
  );
}

function key() {
  return h(
    "ul",
    { class: "tl-key", "aria-label": "Timeline key" },
    h("li", {}, h("span", { class: "swatch outcome-succeeded", "aria-hidden": "true" }), "succeeded"),
    h("li", {}, h("span", { class: "swatch outcome-failed", "aria-hidden": "true" }), "failed"),
    h("li", {}, h("span", { class: "swatch outcome-sending", "aria-hidden": "true" }), "being sent"),
    h("li", {}, h("span", { class: "swatch wait", "aria-hidden": "true" }), "wait before a retry"),
    h("li", {}, h("span", { class: "swatch retry-after", "aria-hidden": "true" }), "Retry-After (the server's wish)"),
    h("li", {}, h("span", { class: "swatch timed-out", "aria-hidden": "true" }), "timed out"),
  );
}

let drawn = 0;
// One observer for every plot: a plot drawn at a guessed width is drawn again at its own.
const redraws = new WeakMap();
const resized = new ResizeObserver((entries) => {
  for (const entry of entries) {
    if (!entry.target.isConnected) resized.unobserve(entry.target);
    else redraws.get(entry.target)?.(entry.contentRect.width);
  }
});

// The timeline of `run` (a run view from GET /v1/runs/{id}), drawn `width` px wide at first and
// again whenever its box changes width. `opened` holds the keys of details left open.
export function timeline(run, { width = 720, opened = new Set(), now = Date.now() } = {}) {
  drawn += 1;
  const ids = { title: `tl-title-${drawn}`, desc: `tl-desc-${drawn}` };
  const model = timelineModel(run, now);
  const plot = h("div", { class: "tl-plot" });
  const tip = tooltip(plot);
  let current = 0;
  const render = (w) => {
    current = Math.max(280, Math.floor(w));
    const focused = plot.contains(document.activeElement) ? document.activeElement.dataset.key : null;
    plot.replaceChildren(draw(model, current, tip, ids), tip.element);
    if (focused) plot.querySelector(`[data-key="${focused}"]`)?.focus();
  };
  render(width);
  const details = table(model);
  details.open = opened.has("timeline-table");
  const figure = h("figure", { class: "card timeline", "aria-labelledby": `${ids.title}-caption` }, h("figcaption", { id: `${ids.title}-caption` }, h("h2", {}, "Timeline")), plot, key(), details);
  redraws.set(plot, (w) => {
    if (w > 0 && Math.abs(Math.max(280, Math.floor(w)) - current) > 1) render(w);
  });
  resized.observe(plot);
  return figure;
}
