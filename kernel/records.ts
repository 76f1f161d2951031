/** One canonical record: flat camelCase fields as the resource response schema declares them. */
export type CanonicalRecord = Record<string, unknown>

/** JSON Schema (draft 2020-12 subset ajv understands). */
export type JsonSchema = Record<string, unknown>
