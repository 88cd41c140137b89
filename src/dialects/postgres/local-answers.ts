import type { ClientError } from '../../proxy/client-error.ts';
import type { LocalResult } from '../../proxy/statement-router.ts';

/**
 * The proxy's own answers, expressed as SQL the server runs in the
 * statement's place. The server then produces exactly the protocol flow
 * the client expects, in order, for simple and extended protocol and under
 * pipelining, which the proxy could otherwise only get right by modelling
 * every message the server would have sent.
 */

/** A dollar-quoted literal whose tag cannot occur in the value. */
function literal(value: string, base = 'sg'): string {
  let tag = base;
  while (value.includes(`$${tag}$`)) tag += 'x';
  return `$${tag}$${value}$${tag}$`;
}

function identifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** `SELECT` over `VALUES`: every column text, NULLs kept. */
export function resultAsSql(result: LocalResult): string {
  const cols = result.columns.map(identifier).join(', ');
  if (result.rows.length === 0) {
    return `SELECT ${result.columns.map((c) => `NULL::text AS ${identifier(c)}`).join(', ')} WHERE false`;
  }
  const rows = result.rows
    .map((row) => `(${row.map((v) => (v === null ? 'NULL::text' : `${literal(v)}::text`)).join(', ')})`)
    .join(', ');
  return `SELECT * FROM (VALUES ${rows}) AS shiftgate(${cols})`;
}

/** A DO block that raises the error with its SQLSTATE, message and hint. */
export function errorAsSql(error: ClientError): string {
  const hint = error.hint ? `, HINT = ${literal(error.hint)}` : '';
  const body = `BEGIN RAISE EXCEPTION USING ERRCODE = '${error.sqlstate}', MESSAGE = ${literal(error.message)}${hint}; END`;
  return `DO ${literal(body, 'sgdo')}`;
}
