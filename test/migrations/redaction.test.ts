/**
 * A failing raw `sql` operation that carries a password: the secret must not
 * reach the state tables, SHOW SHIFTGATE MIGRATIONS, the admin reply or the log.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { PostgresStateStore } from '../../src/dialects/postgres/state-store.ts';
import { LockTimeoutError, MigrationStepError } from '../../src/migrations/errors.ts';
import { redactSecrets } from '../../src/migrations/redact.ts';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';

// The log threshold is read once at load: make sure the error line is written, so its absence of
// the secret means something.
process.env.SHIFTGATE_LOG_LEVEL = 'info';
const { startTestShiftgate } = await import('../helpers/shiftgate.ts');

describe('secrets in failing sql operations', () => {
  let db: TestDatabase;
  let sg: Awaited<ReturnType<typeof startTestShiftgate>>;

  before(async () => {
    db = await createPgDatabase('redaction');
    sg = await startTestShiftgate(db.url);
  });

  after(async () => {
    await sg.stop();
    await db.drop();
  });

  test('the state row, events, SHOW SHIFTGATE MIGRATIONS, the reply and the log hold no password', async () => {
    const secret = `hunter2-${randomBytes(6).toString('hex')}`;
    const role = `sg_role_${randomBytes(4).toString('hex')}`;
    // The second CREATE ROLE fails ("already exists"); the transaction takes the first one back.
    sg.writeMigration(
      '01_role',
      [
        'operations:',
        '  - sql:',
        `      up: "CREATE ROLE ${role} LOGIN PASSWORD '${secret}'; CREATE ROLE ${role} LOGIN ENCRYPTED PASSWORD '${secret}'"`,
        `      down: DROP ROLE IF EXISTS ${role}`,
        '',
      ].join('\n'),
    );
    const logged: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      logged.push(String(chunk));
      return write(chunk, ...rest);
    }) as typeof process.stderr.write;
    const direct = new pg.Client({ connectionString: db.url });
    await direct.connect();
    let error: string | null = null;
    try {
      // START answers once the run is under way; the failure is recorded (and logged) just after.
      const reply = await sg.admin(db.url, "SHIFTGATE START '01_role'").then(
        (rows) => JSON.stringify(rows),
        (e: Error) => e.message,
      );
      assert.ok(!reply.includes(secret), `reply: ${reply}`);
      const deadline = Date.now() + 15_000;
      while (error === null && Date.now() < deadline) {
        const { rows } = await direct.query(`SELECT error FROM shiftgate.migrations WHERE name = '01_role'`);
        error = rows[0]?.error ?? null;
        if (error === null) await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      process.stderr.write = write;
    }
    assert.ok(error !== null, 'the failure is recorded in the state row');
    assert.match(error, /already exists/);
    assert.match(error, /PASSWORD '\*\*\*'/, 'the statement is still shown, with the literal masked');
    assert.ok(!error.includes(secret), `state row: ${error}`);

    const log = logged.join('');
    assert.match(log, /migration (step )?failed/, 'the failure was logged');
    assert.ok(!log.includes(secret), `log: ${log}`);

    try {
      const events = await direct.query(
        `SELECT detail::text AS d FROM shiftgate.events WHERE migration = '01_role'`,
      );
      assert.ok(
        events.rows.some((e) => e.d.includes('already exists')),
        'the error event is there',
      );
      for (const e of events.rows) assert.ok(!e.d.includes(secret), `event: ${e.d}`);
    } finally {
      await direct.end();
    }

    const shown = await sg.admin(db.url, 'SHOW SHIFTGATE MIGRATIONS');
    assert.equal(shown.length, 1);
    const text = JSON.stringify(shown);
    assert.match(text, /already exists/, 'SHOW SHIFTGATE MIGRATIONS carries the error');
    assert.ok(!text.includes(secret), `SHOW SHIFTGATE MIGRATIONS: ${text}`);
  });

  test('the state store masks statements in event details (retry notices)', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const store = new PostgresStateStore(client);
      await store.init();
      const sql = "ALTER ROLE app PASSWORD 'retry-s3cret'";
      await store.event('public', '99_retry', 'expanding', 'retry', {
        sql,
        attempt: 1,
        delayMs: 10,
        code: '55P03',
      });
      const { rows } = await client.query(
        `SELECT detail FROM shiftgate.events WHERE migration = '99_retry' AND event = 'retry'`,
      );
      assert.equal(rows.length, 1);
      assert.equal(rows[0].detail.sql, "ALTER ROLE app PASSWORD '***'");
      assert.equal(rows[0].detail.attempt, 1, 'the rest of the detail is kept as it was');
    } finally {
      await client.end();
    }
  });
});

describe('redactSecrets', () => {
  const CASES: [string, string][] = [
    // PostgreSQL
    ["CREATE ROLE app LOGIN PASSWORD 's3cret'", "CREATE ROLE app LOGIN PASSWORD '***'"],
    [
      "CREATE ROLE app ENCRYPTED PASSWORD 'it''s s3cret' VALID UNTIL '2030-01-01'",
      "CREATE ROLE app ENCRYPTED PASSWORD '***' VALID UNTIL '2030-01-01'",
    ],
    ["alter user app with password E'a\\'s3cret' login", "alter user app with password '***' login"],
    ['ALTER ROLE app PASSWORD $q$s3$cret$q$ LOGIN', "ALTER ROLE app PASSWORD '***' LOGIN"],
    ['ALTER ROLE app PASSWORD NULL', 'ALTER ROLE app PASSWORD NULL'],
    [
      "CREATE USER MAPPING FOR app SERVER s OPTIONS (user 'u', password 's3cret')",
      "CREATE USER MAPPING FOR app SERVER s OPTIONS (user 'u', password '***')",
    ],
    [
      "CREATE SUBSCRIPTION s CONNECTION 'host=h password=s3cret dbname=d' PUBLICATION p",
      "CREATE SUBSCRIPTION s CONNECTION 'host=h password=*** dbname=d' PUBLICATION p",
    ],
    ["SELECT dblink_connect('postgres://u:s3cret@h/d')", "SELECT dblink_connect('postgres://u:***@h/d')"],
    ["ALTER ROLE app PASSWORD 'unterminated s3cret", "ALTER ROLE app PASSWORD '***'"],
    // MySQL / MariaDB
    ["CREATE USER 'a'@'%' IDENTIFIED BY 's3cret'", "CREATE USER 'a'@'%' IDENTIFIED BY '***'"],
    [
      'CREATE USER a IDENTIFIED WITH mysql_native_password BY "s3cret"',
      "CREATE USER a IDENTIFIED WITH mysql_native_password BY '***'",
    ],
    [
      "CREATE USER a IDENTIFIED VIA ed25519 USING PASSWORD('s3cret')",
      "CREATE USER a IDENTIFIED VIA ed25519 USING PASSWORD('***')",
    ],
    ["SET PASSWORD FOR a = PASSWORD('s3cret')", "SET PASSWORD FOR a = PASSWORD('***')"],
    ["SET PASSWORD = 's3cret'", "SET PASSWORD = '***'"],
    ["ALTER USER a IDENTIFIED BY 'x\\'s3cret'", "ALTER USER a IDENTIFIED BY '***'"],
    [
      "CHANGE MASTER TO MASTER_PASSWORD='s3cret', MASTER_HOST='h'",
      "CHANGE MASTER TO MASTER_PASSWORD='***', MASTER_HOST='h'",
    ],
    // Nothing to hide: left as it is.
    ["SELECT password FROM users WHERE name = 'bob'", "SELECT password FROM users WHERE name = 'bob'"],
  ];
  for (const [input, expected] of CASES) {
    test(input, () => {
      const out = redactSecrets(input);
      assert.equal(out, expected);
      assert.ok(!out.includes('s3cret'));
    });
  }

  test('migration errors mask the statement in their fields and message', () => {
    const cause = new Error("You have an error in your SQL syntax near 'IDENTIFIED BY 's3cret'' at line 1");
    const step = new MigrationStepError('m', 'expanding', "CREATE ROLE r IDENTIFIED BY 's3cret'", cause);
    assert.ok(!step.message.includes('s3cret') && !step.sql.includes('s3cret'), step.message);
    assert.match(step.message, /error in your SQL syntax/);
    const lock = new LockTimeoutError("ALTER ROLE r PASSWORD 's3cret'", 3, 100);
    assert.ok(!lock.message.includes('s3cret') && !lock.statement.includes('s3cret'), lock.message);
  });
});
