// A payload to start from, made from the trigger schema: its examples, defaults and consts
// where it gives them, else a plain value of each type. Optional properties are included
// too, so the author sees every field the schema describes and deletes what is not needed.

const MAX_DEPTH = 8;

function local(schema, root) {
  // Only references inside the schema itself are followed ("#/$defs/name"), like the server.
  if (typeof schema?.$ref !== "string" || !schema.$ref.startsWith("#/")) return schema;
  let found = root;
  for (const part of schema.$ref.slice(2).split("/")) found = found?.[part.replaceAll("~1", "/").replaceAll("~0", "~")];
  return found && typeof found === "object" ? found : {};
}

function plain(type, schema) {
  switch (type) {
    case "object": return {};
    case "array": return [];
    case "string":
      if (schema.format === "email") return "ada@example.com";
      if (schema.format === "date-time") return new Date(0).toISOString();
      return "x".repeat(Math.min(schema.minLength ?? 0, 64));
    case "integer": return Math.max(0, Math.ceil(schema.minimum ?? 0));
    case "number": return Math.max(0, schema.minimum ?? 0);
    case "boolean": return false;
    default: return null;
  }
}

function example(raw, root, depth) {
  const schema = local(raw, root);
  if (!schema || typeof schema !== "object" || depth > MAX_DEPTH) return null;
  if ("const" in schema) return schema.const;
  if (Array.isArray(schema.examples) && schema.examples.length) return schema.examples[0];
  if ("default" in schema) return schema.default;
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  const choice = schema.oneOf?.[0] ?? schema.anyOf?.[0];
  if (choice && schema.type === undefined && schema.properties === undefined) return example(choice, root, depth + 1);
  const types = [].concat(schema.type ?? (schema.properties ? "object" : schema.items ? "array" : []));
  const type = types.find((t) => t !== "null") ?? types[0];
  if (type === "object" || (type === undefined && schema.properties)) {
    const out = {};
    for (const [key, sub] of Object.entries(schema.properties ?? {})) out[key] = example(sub, root, depth + 1);
    return out;
  }
  if (type === "array") {
    const count = Math.max(schema.minItems ?? 0, schema.items ? 1 : 0);
    return Array.from({ length: Math.min(count, 3) }, () => example(schema.items ?? {}, root, depth + 1));
  }
  return type === undefined ? {} : plain(type, schema);
}

export function exampleFromSchema(schema) {
  if (!schema || typeof schema !== "object") return {};
  return example(schema, schema, 0);
}
