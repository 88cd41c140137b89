/** What KILL tests ask of a mysql2 connection: the server's id for it, and whether it still answers. */
import type mysql from 'mysql2/promise';

/** CONNECTION_ID(): the server's thread id of the connection (not the proxy's connection id). */
export async function serverIdOf(conn: mysql.Connection): Promise<number> {
  const [[row]] = (await conn.query('SELECT CONNECTION_ID() AS id')) as unknown as [[{ id: number }]];
  return Number(row.id);
}

/** True when the connection still runs a statement (a killed one fails). */
export async function alive(conn: mysql.Connection): Promise<boolean> {
  try {
    await conn.query('SELECT 1');
    return true;
  } catch {
    return false;
  }
}
