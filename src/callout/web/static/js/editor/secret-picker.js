// A select of stored secrets for a field that takes exactly one secret reference.
// It writes "{{ secrets.name }}"; a reference to a secret not stored (yet) stays listed.

import { h } from "../dom.js";

export const SECRET_REF = /^\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$/;

export function secretName(value) {
  return typeof value === "string" ? SECRET_REF.exec(value)?.[1] : undefined;
}

// `kind`: when the API lists secret kinds, only secrets of that kind (or of no kind) are offered.
export function secretPicker({ id, path, value, secrets, none, kind, onChange }) {
  const current = secretName(value);
  const offered = secrets.filter((s) => !kind || !s.kind || s.kind === kind || s.name === current);
  const select = h(
    "select",
    { id, "data-path": path },
    h("option", { value: "" }, none),
    offered.map((s) => h("option", { value: s.name, selected: s.name === current }, s.name)),
    current && !secrets.some((s) => s.name === current) ? h("option", { value: current, selected: true }, `${current} (not stored)`) : null,
  );
  select.addEventListener("change", () => onChange(select.value ? `{{ secrets.${select.value} }}` : undefined));
  return select;
}
