/** Quoting for SQL text that Shiftgate generates for PostgreSQL. */

/** NAMEDATALEN - 1: longer identifiers are silently truncated by the server. */
export const PG_MAX_IDENTIFIER = 63;

export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

export function qualified(schema: string, name: string): string {
  return `${ident(schema)}.${ident(name)}`;
}
