// The building blocks of the step panel's fields: a labelled field, a JSON box checked as
// you type, and key/value rows (headers, query parameters, form fields).

import { h } from "../dom.js";
import { insertButton } from "./insert-menu.js";

const SCHEMA_TYPES = new Set(["object", "array", "string", "number", "integer", "boolean", "null"]);

export function field(id, label, control, ...extra) {
  return h("div", { class: "field" }, h("label", { for: id }, label), h("div", { class: "control" }, control, extra), h("p", { class: "field-error", id: `${id}-error`, hidden: true }));
}

export function jsonProblem(text, { schema = false } = {}) {
  if (!text.trim()) return null;
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `not valid JSON: ${error.message}`;
  }
  if (!schema) return null;
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "a schema must be a JSON object";
  const types = value.type === undefined ? [] : [].concat(value.type);
  const unknown = types.find((t) => !SCHEMA_TYPES.has(t));
  if (unknown !== undefined) return `"type" must be one of ${[...SCHEMA_TYPES].join(", ")} (not ${JSON.stringify(unknown)})`;
  if (value.properties !== undefined && (typeof value.properties !== "object" || Array.isArray(value.properties))) return '"properties" must be an object';
  if (value.required !== undefined && !Array.isArray(value.required)) return '"required" must be a list of names';
  return null;
}

// A JSON textarea; `set` gets {value} | {invalid} | {empty}, and the text, as it is typed.
// With `text: true`, a string `value` is the box's text as it is (not a JSON string).
export function jsonArea(id, label, value, set, options = {}) {
  const area = h("textarea", { id, rows: options.rows ?? 6, spellcheck: "false", class: "code", "aria-describedby": `${id}-check`, placeholder: options.placeholder });
  area.value = value === undefined ? "" : typeof value === "string" && options.text ? value : JSON.stringify(value, null, 2);
  const check = h("p", { id: `${id}-check`, class: "json-check", "aria-live": "polite" });
  const update = () => {
    const problem = jsonProblem(area.value, options);
    area.setAttribute("aria-invalid", problem ? "true" : "false");
    check.textContent = problem ? `${label}: ${problem}` : area.value.trim() ? "Valid JSON" : "";
    check.className = `json-check ${problem ? "bad" : "good"}`;
    set(area.value.trim() ? (problem ? { invalid: area.value } : { value: JSON.parse(area.value) }) : { empty: true }, area.value);
  };
  area.addEventListener("input", update);
  update();
  return { area, check };
}

// Key/value rows bound to a list of {key, value}; values take {{ }} references through +.
// `read()` returns the list (or undefined), `write(list)` stores it (an empty list: removed).
export function pairRows({ read, write, idPrefix, noun, path, keyPlaceholder, valuePlaceholder, refs, changed, addLabel }) {
  const rows = h("div", { class: "rows" });
  const lower = noun.toLowerCase();
  const render = () => {
    const list = read() ?? [];
    rows.replaceChildren(
      ...list.map((pair, i) => {
        const key = h("input", { id: `${idPrefix}-key-${i}`, value: pair.key ?? "", placeholder: keyPlaceholder, autocomplete: "off", "data-path": `${path}[${i}].key` });
        const value = h("input", { id: `${idPrefix}-value-${i}`, value: pair.value ?? "", placeholder: valuePlaceholder, autocomplete: "off", "data-path": `${path}[${i}].value` });
        key.addEventListener("input", () => { pair.key = key.value; changed(); });
        value.addEventListener("input", () => { pair.value = value.value; changed(); });
        const remove = () => {
          list.splice(i, 1);
          write(list);
          render();
          changed();
        };
        return h(
          "div",
          { class: "row pair-row" },
          h("label", { for: key.id, class: "visually-hidden" }, `${noun} ${i + 1} key`),
          key,
          h("label", { for: value.id, class: "visually-hidden" }, `${noun} ${i + 1} value`),
          value,
          insertButton(value, `${lower} ${i + 1} value`, refs),
          h("button", { type: "button", class: "icon danger", "aria-label": `Remove ${lower} ${i + 1}`, onclick: remove }, "×"),
        );
      }),
    );
  };
  const add = h("button", {
    type: "button",
    onclick: () => {
      const list = read() ?? [];
      list.push({ key: "", value: "" });
      write(list);
      render();
      rows.querySelector(`#${idPrefix}-key-${list.length - 1}`)?.focus();
      changed();
    },
  }, addLabel);
  render();
  return { rows, add, render };
}
