/**
 * The fixture of the PostgreSQL runner tests (failover, workers): a `users`
 * table whose every committed update leaves one `audit` row, and a
 * migration folder holding `02_email` (a NOT NULL column backfilled from
 * `name`). A backfill that ran a batch twice leaves two audit rows for its
 * rows; a rolled-back batch leaves none.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';

export async function createAuditedUsers(client: pg.Client, rows: number): Promise<void> {
  await client.query('CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL)');
  await client.query(`INSERT INTO users SELECT g, 'User ' || g FROM generate_series(1, ${rows}) g`);
  await client.query('CREATE TABLE audit (id int NOT NULL)');
  await client.query(`CREATE FUNCTION audit_update() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO audit VALUES (NEW.id); RETURN NULL; END $$`);
  await client.query(
    'CREATE TRIGGER users_audit AFTER UPDATE ON users FOR EACH ROW EXECUTE FUNCTION audit_update()',
  );
}

/** `02_email`: users gains a NOT NULL `email` computed from `name` ('User 1' -> 'user.1@example.com'). */
export const EMAIL_MIGRATION = [
  'operations:',
  '  - add_column:',
  '      table: users',
  '      column: { name: email, type: text, nullable: false }',
  `      up: "lower(replace(name, ' ', '.')) || '@example.com'"`,
].join('\n');

/** A new migrations folder with `02_email.yaml`. */
export function emailMigrationFolder(): string {
  const migrations = mkdtempSync(join(tmpdir(), 'shiftgate-email-'));
  writeFileSync(join(migrations, '02_email.yaml'), EMAIL_MIGRATION);
  return migrations;
}

/** How many audit rows the backfill left, and for how many distinct rows: equal when each was updated once. */
export async function auditCounts(client: pg.Client): Promise<{ updates: number; rows: number }> {
  const audit = await client.query(
    'SELECT count(*)::int AS updates, count(DISTINCT id)::int AS rows FROM audit',
  );
  return audit.rows[0];
}
