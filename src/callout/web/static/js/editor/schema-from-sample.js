// "Infer from sample": a JSON Schema (2020-12) describing an example value.
// Types, required keys (every key seen; in an array, the keys every item has), nested
// objects and arrays. It is a start for the author to edit, not a guess at intent:
// no formats, patterns or enums are invented.

const MAX_DEPTH = 32;

function typeOf(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value; // string, boolean, object
}

function addType(schema, type) {
  const types = [].concat(schema.type ?? []);
  if (types.includes(type)) return;
  // integer is a number: a field holding both is a number
  if (type === "integer" && types.includes("number")) return;
  const merged = type === "number" ? types.filter((t) => t !== "integer") : types;
  merged.push(type);
  schema.type = merged.length === 1 ? merged[0] : merged;
}

// Merge the schema of `value` into `schema` (several values of one place: array items).
function describeInto(schema, value, depth) {
  const type = typeOf(value);
  addType(schema, type);
  if (depth >= MAX_DEPTH) return schema;
  if (type === "object") {
    const seenBefore = schema.properties !== undefined;
    schema.properties = schema.properties ?? {};
    const keys = Object.keys(value);
    for (const key of keys) {
      schema.properties[key] = describeInto(schema.properties[key] ?? {}, value[key], depth + 1);
    }
    // required: the keys every object seen here has
    const required = seenBefore ? (schema.required ?? []).filter((k) => keys.includes(k)) : keys;
    if (required.length) schema.required = required;
    else delete schema.required;
  } else if (type === "array" && value.length) {
    schema.items = value.reduce((items, item) => describeInto(items, item, depth + 1), schema.items ?? {});
  }
  return schema;
}

export function inferSchema(value) {
  return describeInto({}, value, 0);
}
