import mysql from 'mysql2/promise';
import type { AdminClient } from '../../proxy/admin-client.ts';

/** An admin connection to a MySQL-speaking Shiftgate, values as text. */
export async function connectMysqlAdminClient(url: string): Promise<AdminClient> {
  const conn = await mysql.createConnection({
    uri: url.replace(/^mariadb:/, 'mysql:'),
    typeCast: (field, next) => (field.type === 'NULL' ? null : field.string()) ?? next(),
  });
  return {
    async query(sql) {
      const [rows, fields] = await conn.query({ sql, rowsAsArray: true });
      return {
        columns: (fields ?? []).map((f) => f.name),
        rows: Array.isArray(rows) ? (rows as (string | null)[][]) : [],
      };
    },
    close: () => conn.end(),
  };
}
