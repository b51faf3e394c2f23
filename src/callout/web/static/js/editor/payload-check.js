// A quick look at a payload against the trigger schema while it is typed: types, required
// keys, enums and consts, nested properties and items. It is a hint only: the server checks
// the whole schema (formats, patterns, every keyword) when the run starts, and says so.

const MAX_PROBLEMS = 5;
const MAX_DEPTH = 16;

function typeOf(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function fits(value, type) {
  const actual = typeOf(value);
  return actual === type || (type === "number" && actual === "integer");
}

function article(type) {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function local(schema, root) {
  if (typeof schema?.$ref !== "string" || !schema.$ref.startsWith("#/")) return schema;
  let found = root;
  for (const part of schema.$ref.slice(2).split("/")) found = found?.[part.replaceAll("~1", "/").replaceAll("~0", "~")];
  return found;
}

function where(path) {
  return path || "the payload";
}

function check(raw, value, path, root, out, depth) {
  const schema = local(raw, root);
  if (out.length >= MAX_PROBLEMS || !schema || typeof schema !== "object" || depth > MAX_DEPTH) return;
  if (schema.type !== undefined) {
    const types = [].concat(schema.type);
    if (!types.some((t) => fits(value, t))) {
      out.push(`${where(path)} should be ${types.map(article).join(" or ")}, not ${article(typeOf(value))}`);
      return;
    }
  }
  if ("const" in schema && JSON.stringify(schema.const) !== JSON.stringify(value)) out.push(`${where(path)} should be ${JSON.stringify(schema.const)}`);
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    out.push(`${where(path)} should be one of ${schema.enum.map((e) => JSON.stringify(e)).join(", ")}`);
  }
  if (typeOf(value) === "object") {
    for (const key of Array.isArray(schema.required) ? schema.required : []) {
      if (!(key in value)) out.push(`${path ? `${path}.` : ""}${key} is required`);
    }
    const properties = schema.properties && typeof schema.properties === "object" ? schema.properties : {};
    for (const [key, sub] of Object.entries(value)) {
      const inner = path ? `${path}.${key}` : key;
      if (key in properties) check(properties[key], sub, inner, root, out, depth + 1);
      else if (schema.additionalProperties === false) out.push(`${inner} is not expected here`);
    }
  }
  if (Array.isArray(value) && schema.items && typeof schema.items === "object") {
    value.forEach((item, index) => check(schema.items, item, `${path || "payload"}[${index}]`, root, out, depth + 1));
  }
}

// The problems found (at most a few), or [] when the quick look finds none.
export function payloadProblems(schema, value) {
  const out = [];
  if (schema && typeof schema === "object") check(schema, value, "", schema, out, 0);
  return out.slice(0, MAX_PROBLEMS);
}
