import pg from 'pg';
import type { AdminClient } from '../../proxy/admin-client.ts';

/** An admin connection to a PostgreSQL-speaking Shiftgate, values as text. */
export async function connectPgAdminClient(url: string): Promise<AdminClient> {
  const client = new pg.Client({ connectionString: url, application_name: 'shiftgate-cli' });
  client.on('error', () => {});
  await client.connect();
  return {
    async query(sql) {
      const result = await client.query({
        text: sql,
        rowMode: 'array',
        types: { getTypeParser: () => (v: string) => v },
      });
      return {
        columns: result.fields.map((f) => f.name),
        rows: result.rows as (string | null)[][],
      };
    },
    close: () => client.end(),
  };
}
