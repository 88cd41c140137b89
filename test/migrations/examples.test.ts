/**
 * Replays examples/migrations in order against one database with data in it:
 * each file is dry-run, started, rolled back (the schema must come back
 * exactly), started again and completed.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadMigrationFile } from '../../src/migrations/parse.ts';
import { columns, type MigrationDb, migrationDb, rows } from './helpers/db.ts';
import { fingerprint, leftovers } from './helpers/fingerprint.ts';

const dir = join(import.meta.dirname, '../../examples/migrations');
const files = readdirSync(dir)
  .filter((f) => /^\d+_.*\.(ya?ml|json)$/.test(f))
  .sort();

describe('examples/migrations replay', () => {
  let db: MigrationDb;
  before(async () => {
    db = await migrationDb('examples');
  });
  after(() => db.close());

  it('has numbered examples covering every operation', () => {
    const kinds = new Set(
      files.flatMap((f) => loadMigrationFile(join(dir, f)).operations.map((o) => o.kind)),
    );
    for (const kind of [
      'create_table',
      'add_column',
      'alter_column',
      'rename_column',
      'drop_column',
      'rename_table',
      'drop_table',
      'create_index',
      'drop_index',
      'create_constraint',
      'drop_constraint',
      'drop_multicolumn_constraint',
      'rename_constraint',
      'set_replica_identity',
      'sql',
    ])
      assert.ok(kinds.has(kind as never), `no example uses ${kind}`);
  });

  for (const file of files) {
    it(`replays ${file}`, async () => {
      const m = loadMigrationFile(join(dir, file));
      const engine = await db.engine({ sizing: { minBatch: 10, maxBatch: 100 } });
      const dry = await engine.dryRun(m);
      assert.ok(dry.start.length + dry.complete.length > 0);
      const clean = await fingerprint(db.sql);
      await engine.start(m);
      await engine.rollback();
      assert.deepEqual(await fingerprint(db.sql), clean, `${file}: rollback restores the schema`);
      await engine.start(m);
      await engine.complete();
      assert.deepEqual(await leftovers(db.sql), []);
      if (file.startsWith('02_')) {
        await db.sql.query(`INSERT INTO users (name, email) SELECT 'User ' || g, CASE WHEN g % 3 = 0 THEN NULL ELSE 'u' || g || '@x' END
                              FROM generate_series(1, 300) g;
                            INSERT INTO posts (user_id, title, slug, views, rating)
                              SELECT 1 + g % 300, 'Post ' || g, 's' || g, g * 7, g % 8 FROM generate_series(1, 900) g;`);
      }
    });
  }

  it('ends with the schema the examples describe', async () => {
    assert.deepEqual(await columns(db.sql, 'users'), ['id', 'display_name', 'created_at', 'handle', 'email']);
    assert.deepEqual(await columns(db.sql, 'articles'), ['id', 'views', 'rating', 'title', 'user_id']);
    const nulls = await rows(
      db.sql,
      `SELECT count(*)::int AS n FROM users WHERE email IS NULL OR handle IS NULL`,
    );
    assert.deepEqual(nulls, [{ n: 0 }]);
    const ratings = await rows(
      db.sql,
      'SELECT count(*)::int AS n FROM articles WHERE rating NOT BETWEEN 1 AND 5',
    );
    assert.deepEqual(ratings, [{ n: 0 }]);
    const history = await rows(
      db.sql,
      `SELECT count(*)::int AS n FROM shiftgate.migrations WHERE phase = 'completed'`,
    );
    assert.deepEqual(history, [{ n: files.length }]);
  });
});
