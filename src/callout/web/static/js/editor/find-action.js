// Find Action: a searchable list of actions, grouped by category; unavailable ones say why.
// Enter in the search box picks the only match; the arrow keys move through the list.

import { h } from "../dom.js";

function planNames(plans) {
  const titled = plans.map((p) => p[0].toUpperCase() + p.slice(1));
  return titled.length > 1 ? `${titled.slice(0, -1).join(", ")} and ${titled.at(-1)}` : titled.join("");
}

export function findAction(actions, onChoose) {
  const search = h("input", { id: "find-action-search", type: "search", placeholder: "Search actions", autocomplete: "off" });
  const list = h("div", { class: "action-list", role: "listbox", "aria-label": "Actions" });
  const none = h("p", { class: "muted", role: "status", hidden: true }, "No action matches.");
  const dialog = h(
    "dialog",
    { class: "find-action", "aria-labelledby": "find-action-title" },
    h("h2", { id: "find-action-title" }, "Find Action"),
    h("label", { for: "find-action-search" }, "Search actions"),
    search,
    list,
    none,
    h("div", { class: "dialog-actions" }, h("button", { type: "button", onclick: () => dialog.close() }, "Cancel")),
  );

  function render() {
    const words = search.value.trim().toLowerCase();
    const shown = actions.filter((a) => !words || `${a.category} ${a.title} ${a.name}`.toLowerCase().includes(words));
    const categories = [...new Set(shown.map((a) => a.category))].sort();
    list.replaceChildren(
      ...categories.map((category) =>
        h(
          "div",
          { role: "group", "aria-label": category, class: "action-group" },
          h("div", { class: "action-category" }, category),
          shown.filter((a) => a.category === category).map((action) =>
            h(
              "button",
              {
                type: "button",
                role: "option",
                class: "action-option",
                "aria-disabled": action.available ? "false" : "true",
                "data-action": action.name,
                onclick: () => {
                  if (!action.available) return;
                  dialog.close();
                  onChoose(action);
                },
              },
              h("span", { class: "action-title" }, action.title),
              action.available ? null : h("span", { class: "unavailable" }, `Available on the ${planNames(action.plans)} plans`),
            ),
          ),
        ),
      ),
    );
    // An empty listbox is hidden (a listbox must hold options); the words say why.
    list.hidden = !shown.length;
    none.hidden = Boolean(shown.length);
  }

  search.addEventListener("input", render);
  // Enter picks the match when only one can be chosen; ArrowDown goes into the list.
  search.addEventListener("keydown", (event) => {
    const options = [...list.querySelectorAll('[role="option"]')];
    const available = options.filter((o) => o.getAttribute("aria-disabled") !== "true");
    if (event.key === "Enter") {
      event.preventDefault();
      if (available.length === 1) available[0].click();
    } else if (event.key === "ArrowDown" && options.length) {
      event.preventDefault();
      (available[0] ?? options[0]).focus();
    }
  });
  list.addEventListener("keydown", (event) => {
    const options = [...list.querySelectorAll('[role="option"]')];
    const at = options.indexOf(document.activeElement);
    if (event.key === "ArrowDown") {
      event.preventDefault();
      options[Math.min(at + 1, options.length - 1)]?.focus();
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      if (at <= 0) search.focus();
      else options[at - 1].focus();
    }
  });
  dialog.addEventListener("close", () => dialog.remove());
  render();
  document.body.append(dialog);
  dialog.showModal();
  search.focus();
  return dialog;
}
