/**
 * JSON for values that may hold bigint (money in minor units): bigints become decimal strings, so
 * nothing is ever rounded through a float on the way to jsonb or a log line.
 */
export function toJsonSafe(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
}

export function stringifyJson(value: unknown, space?: number): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), space);
}
