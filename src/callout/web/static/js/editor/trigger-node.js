// The trigger at the top of the flow: its event name and Trigger Schema. The schema box shows
// an example of its own, and "Infer from sample" writes a schema from an example payload
// (the same sample trigger data Test step and Run use), to be edited after.

import { h } from "../dom.js";
import { jsonProblem } from "./fields.js";
import { inferSchema } from "./schema-from-sample.js";

const EXAMPLE = `{
  "type": "object",
  "required": ["id", "email"],
  "properties": {
    "id": {"type": "string"},
    "email": {"type": "string"},
    "score": {"type": "number"}
  }
}`;

// `onSample(text)`: the example payload was typed; `onInvalid(flag)`: the schema box's JSON state.
export function triggerNode({ doc, sample, onSample, onChange, onInvalid }) {
  doc.trigger = doc.trigger ?? {};
  const trigger = doc.trigger;
  const event = h("input", { id: "trigger-event", value: trigger.event ?? "", placeholder: "inquiry.completed", autocomplete: "off", "data-path": "trigger.event" });
  event.addEventListener("input", () => {
    if (event.value.trim()) trigger.event = event.value.trim();
    else delete trigger.event;
    onChange();
  });

  const schema = h("textarea", { id: "trigger-schema", rows: 8, class: "code", spellcheck: "false", "data-path": "trigger.schema", placeholder: `For example:\n${EXAMPLE}`, "aria-describedby": "trigger-schema-check" });
  schema.value = trigger.schema === undefined ? "" : JSON.stringify(trigger.schema, null, 2);
  const check = h("p", { id: "trigger-schema-check", class: "json-check", "aria-live": "polite" });
  schema.addEventListener("input", () => {
    const problem = jsonProblem(schema.value, { schema: true });
    check.textContent = problem ? `Trigger Schema: ${problem}` : "";
    check.className = `json-check ${problem ? "bad" : "good"}`;
    onInvalid(Boolean(problem));
    if (problem) {
      // the document keeps its last valid schema until this one is fixed
    } else if (schema.value.trim()) trigger.schema = JSON.parse(schema.value);
    else delete trigger.schema;
    onChange();
  });

  const example = h("textarea", { id: "trigger-example", rows: 4, class: "code", spellcheck: "false", placeholder: '{"id": "inq_1", "email": "ada@example.com"}', "aria-describedby": "trigger-example-check" });
  example.value = sample ?? "";
  const said = h("p", { id: "trigger-example-check", class: "json-check", "aria-live": "polite" });
  example.addEventListener("input", () => { said.textContent = ""; onSample(example.value); });
  const infer = h("button", { type: "button" }, "Infer from sample");
  infer.addEventListener("click", () => {
    let value;
    try {
      value = JSON.parse(example.value);
    } catch (error) {
      said.className = "json-check bad";
      said.textContent = example.value.trim() ? `The example payload is not valid JSON: ${error.message}` : "Paste an example payload first.";
      example.focus();
      return;
    }
    const replaced = schema.value.trim() !== "";
    schema.value = JSON.stringify(inferSchema(value), null, 2);
    schema.dispatchEvent(new Event("input"));
    said.className = "json-check good";
    const made = replaced ? "Trigger Schema replaced by one made" : "Trigger Schema made";
    said.textContent = `${made} from this example: edit it as you need (it requires every key the example has).`;
  });

  const node = h(
    "section",
    { class: "node trigger-node", "aria-label": "Trigger" },
    h("div", { class: "node-kind" }, "Trigger"),
    h("div", { class: "field" }, h("label", { for: "trigger-event" }, "Event name"), event, h("p", { class: "field-error", hidden: true })),
    h(
      "details",
      { open: trigger.schema !== undefined },
      h("summary", {}, "Trigger Schema"),
      h("div", { class: "field" }, h("label", { for: "trigger-schema" }, "Trigger Schema (JSON Schema of the payload)"), schema, check, h("p", { class: "field-error", hidden: true })),
      h(
        "div",
        { class: "field" },
        h("label", { for: "trigger-example" }, "Example payload"),
        example,
        h("div", { class: "infer-row" }, infer, h("span", { class: "muted small" }, "makes the schema from this example")),
        said,
      ),
    ),
  );
  return {
    node,
    setSample: (text) => { if (document.activeElement !== example) example.value = text ?? ""; },
  };
}
