// A small element builder and the formats every page shares.

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "class") {
      element.className = value;
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function clear(element, ...children) {
  element.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return element;
}

export function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

export function ago(iso) {
  if (!iso) return "—";
  const seconds = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (seconds < 60) return `${Math.max(seconds, 0)} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return when(iso);
}

export function badge(status) {
  return h("span", { class: `badge status-${status}` }, status);
}

export function banner(kind, message, details = []) {
  return h(
    "div",
    { class: `banner banner-${kind}`, role: kind === "error" ? "alert" : "status" },
    h("p", {}, message),
    details.length ? h("ul", {}, details.map((d) => h("li", {}, d.path ? h("code", {}, d.path) : null, d.path ? ": " : "", d.message))) : null,
  );
}

// A table cell with its column's name, shown only where the table's rows are cards (the
// `cards` class, on a narrow window, where the headers are not shown). Screen readers have
// the headers, so the name is hidden from them.
export function labelledCell(column, attributes, ...content) {
  return h("td", attributes, h("span", { class: "cell-label", "aria-hidden": "true" }, column), h("span", { class: "cell-value" }, content));
}

export function emptyState(title, text, action) {
  return h("div", { class: "empty" }, h("h2", {}, title), h("p", { class: "muted" }, text), action ?? null);
}

export function app() {
  return document.getElementById("app");
}

export function pageHeader(title, ...actions) {
  return h("div", { class: "page-header" }, h("h1", {}, title), h("div", { class: "actions" }, actions));
}
