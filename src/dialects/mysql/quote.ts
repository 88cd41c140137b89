/**
 * Identifier and literal quoting for the DDL the MySQL migration driver
 * builds. Literals assume backslash escapes are on: the driver's own
 * connection clears NO_BACKSLASH_ESCAPES from its sql_mode.
 */

export const MYSQL_MAX_IDENTIFIER = 64;

export function ident(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

export function qualified(schema: string, name: string): string {
  return `${ident(schema)}.${ident(name)}`;
}

export function literal(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}
