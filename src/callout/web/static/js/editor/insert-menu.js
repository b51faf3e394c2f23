// The + beside a field: lists what can be inserted there and inserts {{ ... }} at the cursor.

import { h } from "../dom.js";

let openMenu = null;

function closeMenu() {
  if (openMenu) {
    openMenu.menu.remove();
    openMenu.button.setAttribute("aria-expanded", "false");
    openMenu = null;
  }
}

document.addEventListener("click", (event) => {
  if (openMenu && !openMenu.menu.contains(event.target) && event.target !== openMenu.button) closeMenu();
});

export function insertAt(field, text) {
  const start = field.selectionStart ?? field.value.length;
  const end = field.selectionEnd ?? start;
  field.value = field.value.slice(0, start) + text + field.value.slice(end);
  const cursor = start + text.length;
  field.focus();
  field.setSelectionRange(cursor, cursor);
  field.dispatchEvent(new Event("input", { bubbles: true }));
}

// `groups()` is called when the menu opens, so it lists what exists at that moment.
export function insertButton(field, label, groups) {
  let cursor = null;
  const remember = () => { cursor = [field.selectionStart, field.selectionEnd]; };
  field.addEventListener("keyup", remember);
  field.addEventListener("click", remember);
  field.addEventListener("blur", remember);
  const button = h("button", {
    type: "button",
    class: "insert",
    "aria-label": `Insert a reference into ${label}`,
    "aria-haspopup": "listbox",
    "aria-expanded": "false",
    title: "Insert a reference",
  }, "+");
  button.addEventListener("click", (event) => {
    event.stopPropagation();
    if (openMenu?.button === button) return closeMenu();
    closeMenu();
    const choose = (ref) => {
      closeMenu();
      if (cursor) field.setSelectionRange(cursor[0], cursor[1]);
      insertAt(field, `{{ ${ref} }}`);
    };
    const menu = h(
      "div",
      { class: "insert-menu", role: "listbox", "aria-label": `References for ${label}` },
      groups().map((group) =>
        h(
          "div",
          { role: "group", "aria-label": group.label },
          h("div", { class: "insert-group" }, group.label),
          group.items.map((item) =>
            h("button", { type: "button", role: "option", class: "insert-option", "data-ref": item.ref, onclick: () => choose(item.ref) },
              h("code", {}, item.ref), item.hint ? h("span", { class: "muted small" }, ` ${item.hint}`) : null),
          ),
        ),
      ),
    );
    menu.addEventListener("keydown", (e) => {
      const options = [...menu.querySelectorAll('[role="option"]')];
      const index = options.indexOf(document.activeElement);
      if (e.key === "Escape") { closeMenu(); button.focus(); }
      if (e.key === "ArrowDown") { e.preventDefault(); options[Math.min(index + 1, options.length - 1)]?.focus(); }
      if (e.key === "ArrowUp") { e.preventDefault(); options[Math.max(index - 1, 0)]?.focus(); }
    });
    button.after(menu);
    button.setAttribute("aria-expanded", "true");
    openMenu = { menu, button };
    menu.querySelector('[role="option"]')?.focus();
  });
  return button;
}
