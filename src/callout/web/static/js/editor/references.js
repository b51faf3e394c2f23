// What a field may reference at a given step: trigger fields, earlier steps' outputs, secrets.

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function join(base, key) {
  return IDENTIFIER.test(key) ? `${base}.${key}` : `${base}["${key.replaceAll('"', '\\"')}"]`;
}

// Every path a JSON Schema's `properties` describe, depth first, up to a sensible depth.
export function schemaPaths(schema, base, depth = 0) {
  const paths = [];
  if (!schema || typeof schema !== "object" || depth > 5) return paths;
  for (const [key, sub] of Object.entries(schema.properties ?? {})) {
    const path = join(base, key);
    paths.push({ path, type: sub?.type });
    paths.push(...schemaPaths(sub, path, depth + 1));
  }
  return paths;
}

export function referenceGroups(doc, stepIndex, secrets) {
  const groups = [];
  const triggerFields = schemaPaths(doc.trigger?.schema, "trigger");
  groups.push({
    label: "Trigger",
    items: triggerFields.length ? triggerFields.map((f) => ({ ref: f.path, hint: f.type })) : [{ ref: "trigger", hint: "the whole payload" }],
  });
  for (const step of doc.steps.slice(0, stepIndex)) {
    if (!step.id) continue;
    const base = `steps.${step.id}`;
    groups.push({
      label: `Step ${step.id}`,
      items: [
        { ref: `${base}.status`, hint: "HTTP status" },
        { ref: `${base}.headers`, hint: "response headers" },
        { ref: `${base}.url`, hint: "final URL (after redirects)" },
        { ref: `${base}.body`, hint: "response body" },
        ...schemaPaths(step.response_schema, `${base}.body`).map((f) => ({ ref: f.path, hint: f.type })),
      ],
    });
  }
  if (secrets.length) {
    groups.push({ label: "Secrets", items: secrets.map((s) => ({ ref: `secrets.${s.name}`, hint: "secret" })) });
  }
  groups.push({ label: "Run", items: [{ ref: "run.id", hint: "this run's id" }] });
  return groups;
}
