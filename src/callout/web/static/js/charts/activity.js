// A workflow's last hours of runs: completed and failed per clock hour as stacked bars, and the
// failure rate. Hand-written SVG with its own title and description (a screen reader hears the
// totals, the rate and the busiest hour); each hour's bar says its counts on hover; the editor's
// card has the hours as a table one click away. The data is GET /v1/workflows/{id}/activity or,
// for the whole list in one call, GET /v1/workflow-activity.

import { api } from "../api.js";
import { h } from "../dom.js";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) if (value !== null && value !== undefined && value !== false) element.setAttribute(name, String(value));
  for (const child of children.flat(Infinity)) if (child !== null && child !== undefined && child !== false) element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return element;
}

function hourLabel(iso) {
  return new Date(iso).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

// "25% failed (1 of 4 finished)", or that nothing finished.
export function failureRate(activity) {
  if (!activity || activity.failure_rate === null || activity.failure_rate === undefined) return "no finished runs";
  const finished = activity.completed + activity.failed;
  return `${Math.round(activity.failure_rate * 100)}% failed (${activity.failed} of ${finished})`;
}

// The chart's words: what a screen reader hears, and the text beside the list's charts.
export function activitySummary(activity, hours) {
  if (!activity) return `No runs in the last ${hours} hours.`;
  const other = activity.in_progress + activity.cancelled;
  const busiest = activity.hours.reduce((best, hour) => {
    const total = hour.completed + hour.failed + hour.in_progress + hour.cancelled;
    return total > best.total ? { total, hour } : best;
  }, { total: 0, hour: null });
  const parts = [`${plural(activity.completed, "run")} completed`, `${activity.failed} failed`];
  if (other) parts.push(`${activity.in_progress} in progress`, `${activity.cancelled} cancelled`);
  const rate = activity.failure_rate === null ? "" : ` Failure rate ${Math.round(activity.failure_rate * 100)}%.`;
  const peak = busiest.hour ? ` Busiest hour ${hourLabel(busiest.hour.start)} with ${plural(busiest.total, "run")}.` : "";
  return `Last ${hours} hours: ${parts.join(", ")}.${rate}${peak}`;
}

function emptyHours(hours) {
  const now = Math.floor(Date.now() / 3600000) * 3600000;
  return Array.from({ length: hours }, (_, i) => ({ start: new Date(now - (hours - 1 - i) * 3600000).toISOString(), completed: 0, failed: 0, in_progress: 0, cancelled: 0 }));
}

let charts = 0;

// Stacked bars, one per hour (failed at the bottom, in red, then completed, then the rest).
export function activityChart(activity, { hours = 24, width = 120, height = 28, axis = false } = {}) {
  charts += 1;
  const ids = { title: `activity-title-${charts}`, desc: `activity-desc-${charts}` };
  const data = activity?.hours ?? emptyHours(hours);
  const bottom = height - (axis ? 16 : 0);
  const slot = width / data.length;
  const barWidth = Math.max(1, slot - Math.min(2, slot * 0.25));
  const peak = Math.max(1, ...data.map((hr) => hr.completed + hr.failed + hr.in_progress + hr.cancelled));
  const scale = (n) => (n ? Math.max(2, (n / peak) * (bottom - 2)) : 0);
  const bars = data.map((hour, i) => {
    const x = i * slot;
    let y = bottom;
    const pieces = [];
    for (const [name, count] of [["failed", hour.failed], ["completed", hour.completed], ["other", hour.in_progress + hour.cancelled]]) {
      const tall = scale(count);
      if (!tall) continue;
      y -= tall;
      pieces.push(svg("rect", { class: name, x, y, width: barWidth, height: tall }));
    }
    const words = `${hourLabel(hour.start)}: ${hour.completed} completed, ${hour.failed} failed${hour.in_progress + hour.cancelled ? `, ${hour.in_progress + hour.cancelled} other` : ""}`;
    return svg("g", { class: "hour" }, svg("title", {}, words), svg("rect", { class: "hit", x, y: 0, width: slot, height: bottom }), pieces);
  });
  const ticks = axis
    ? [
        svg("text", { class: "tick", x: 0, y: height - 2, "text-anchor": "start" }, `${data.length} h ago`),
        svg("text", { class: "tick", x: width / 2, y: height - 2, "text-anchor": "middle" }, `${Math.round(data.length / 2)} h ago`),
        svg("text", { class: "tick", x: width, y: height - 2, "text-anchor": "end" }, "now"),
      ]
    : [];
  return svg(
    "svg",
    { class: "activity-svg", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": ids.title, "aria-describedby": ids.desc },
    svg("title", { id: ids.title }, `Runs per hour, last ${data.length} hours`),
    svg("desc", { id: ids.desc }, activitySummary(activity, data.length)),
    svg("line", { class: "baseline", x1: 0, x2: width, y1: bottom + 0.5, y2: bottom + 0.5 }),
    bars,
    ticks,
  );
}

// The list's cell: a small chart and the failure rate beside it.
export function activityCell(activity, hours = 24) {
  const finished = activity ? activity.completed + activity.failed : 0;
  return h(
    "div",
    { class: "activity", "data-failure-rate": activity?.failure_rate ?? "" },
    activityChart(activity, { hours, width: 144, height: 30 }),
    h("span", { class: `activity-rate${activity?.failed ? " bad" : ""}` }, finished ? failureRate(activity) : activity ? "no finished runs" : `no runs in ${hours} h`),
  );
}

function hoursTable(activity) {
  return h(
    "details",
    {},
    h("summary", {}, "Runs per hour as a table"),
    h(
      "div",
      { class: "table-scroll" },
      h(
        "table",
        { class: "table compact" },
        h("caption", { class: "visually-hidden" }, "Runs per hour"),
        h("thead", {}, h("tr", {}, ["Hour", "Completed", "Failed", "In progress", "Cancelled"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, activity.hours.filter((hr) => hr.completed + hr.failed + hr.in_progress + hr.cancelled).map((hr) => h("tr", {}, h("th", { scope: "row" }, hourLabel(hr.start)), h("td", {}, hr.completed), h("td", {}, hr.failed), h("td", {}, hr.in_progress), h("td", {}, hr.cancelled)))),
      ),
    ),
  );
}

const cards = new Map();

// The editor's card: the workflow's last 24 hours, fetched once per page and kept across the
// editor's redraws (the same element is returned for the same workflow).
export function workflowActivity(workflowId, hours = 24) {
  if (cards.has(workflowId)) return cards.get(workflowId);
  const plot = h("div", { class: "activity-plot" }, h("p", { class: "muted small" }, "Loading…"));
  const rate = h("span", { class: "activity-rate" });
  const card = h("section", { class: "card activity-card", "aria-labelledby": "activity-heading" }, h("div", { class: "activity-head" }, h("h2", { id: "activity-heading" }, `Runs in the last ${hours} hours`), rate), plot);
  cards.set(workflowId, card);
  api("GET", `/v1/workflows/${workflowId}/activity?hours=${hours}`)
    .then((activity) => {
      const ran = activity.completed + activity.failed + activity.in_progress + activity.cancelled;
      rate.textContent = ran ? failureRate(activity) : "no runs yet";
      rate.classList.toggle("bad", activity.failed > 0);
      const width = Math.max(240, Math.min(720, plot.clientWidth || 480));
      // replaceChildren() would write a null as the text "null": the table only when it has rows.
      plot.replaceChildren(
        activityChart(activity, { hours, width, height: 72, axis: true }),
        h("p", { class: "small muted" }, activitySummary(activity, hours), " ", h("a", { href: `/runs?workflow_id=${workflowId}` }, "See its runs")),
        ...(ran ? [hoursTable(activity)] : []),
      );
    })
    .catch((error) => plot.replaceChildren(h("p", { class: "muted small" }, `Could not load the activity: ${error.message}`)));
  return card;
}
