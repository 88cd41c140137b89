/**
 * The schema the translation tests run on: a physical schema in the middle
 * of a migration (built with plain DDL, as the engine's expand phase would
 * leave it) and the migration history that explains it.
 *
 * Versions:
 * - `(initial)`: users(id, name, mail, age, legacy, fax*), orders, order_items without batch, sessions*
 *   (* dropped by a completed migration: no longer servable)
 * - `01_mail`:   users(id, name, email, age, legacy), order_items without batch, sessions*
 * - `02_nick`:   users(id, name, email, age, legacy, "Nick Name"), orders, order_items, no tags
 * - `03_split`:  users(id, full_name, email, "Nick Name", bio, age (shadow bigint, last as complete leaves it)), purchases, order_items, tags
 */
import pg from 'pg';
import {
  buildVersionMap,
  type MigrationRecord,
  type PhysicalSchema,
  type VersionMap,
} from '../../src/versions/index.ts';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.ts';

export const DDL = `
CREATE TABLE users (
  id serial PRIMARY KEY,
  name text NOT NULL,
  email text,
  age int,
  legacy text NOT NULL DEFAULT '',
  "Nick Name" text,
  bio text,
  _shiftgate_new_age bigint
);
CREATE UNIQUE INDEX users_name_key ON users (name);
CREATE TABLE orders (
  id serial PRIMARY KEY,
  user_id int NOT NULL REFERENCES users (id),
  total numeric(10, 2),
  note text
);
CREATE TABLE order_items (
  id serial PRIMARY KEY,
  order_id int NOT NULL,
  sku text NOT NULL,
  qty int NOT NULL DEFAULT 1,
  batch int NOT NULL
);
CREATE TABLE tags (id serial PRIMARY KEY, user_id int, label text NOT NULL);
INSERT INTO users (name, email, age, _shiftgate_new_age, "Nick Name") VALUES
  ('Alice', 'alice@example.com', 31, 31, 'Al'),
  ('Bob', 'bob@example.com', 17, 17, NULL),
  ('Ünïcödé', 'u@example.com', 44, 44, 'U');
INSERT INTO orders (user_id, total, note) VALUES (1, 10.50, 'first'), (1, 20, NULL), (2, 5, 'bob');
INSERT INTO order_items (order_id, sku, qty, batch) VALUES (1, 'A', 2, 1), (2, 'B', 1, 1);
INSERT INTO tags (user_id, label) VALUES (1, 'vip');
`;

export const HISTORY: MigrationRecord[] = [
  {
    name: '01_mail',
    inFlight: false,
    changes: [
      { kind: 'rename_column', table: 'users', from: 'mail', to: 'email' },
      { kind: 'drop_column', table: 'users', column: 'fax' },
    ],
  },
  {
    name: '02_nick',
    inFlight: false,
    changes: [
      { kind: 'add_column', table: 'users', column: 'Nick Name' },
      { kind: 'add_column', table: 'order_items', column: 'batch' },
      { kind: 'drop_table', table: 'sessions' },
    ],
  },
  {
    name: '03_split',
    inFlight: true,
    changes: [
      { kind: 'rename_column', table: 'users', from: 'name', to: 'full_name' },
      { kind: 'alter_column', table: 'users', column: 'age' },
      { kind: 'add_column', table: 'users', column: 'bio' },
      { kind: 'drop_column', table: 'users', column: 'legacy' },
      { kind: 'rename_table', from: 'orders', to: 'purchases' },
      { kind: 'create_table', table: 'tags' },
    ],
  },
];

/** What the dialect's introspection will return; enough of it for the tests. */
export async function introspect(client: pg.Client, schema = 'public'): Promise<PhysicalSchema> {
  const { rows } = await client.query<{
    table_name: string;
    column_name: string;
    is_nullable: string;
    has_default: boolean;
  }>(
    `SELECT c.table_name, c.column_name, c.is_nullable,
            (c.column_default IS NOT NULL OR c.is_identity = 'YES' OR c.is_generated = 'ALWAYS') AS has_default
       FROM information_schema.columns c
       JOIN information_schema.tables t USING (table_schema, table_name)
      WHERE c.table_schema = $1 AND t.table_type = 'BASE TABLE'
      ORDER BY c.table_name, c.ordinal_position`,
    [schema],
  );
  const tables = new Map<string, PhysicalSchema['tables'][number]>();
  for (const r of rows) {
    let t = tables.get(r.table_name);
    if (!t) {
      t = { name: r.table_name, columns: [] };
      tables.set(r.table_name, t);
    }
    t.columns.push({ name: r.column_name, nullable: r.is_nullable === 'YES', hasDefault: r.has_default });
  }
  return { schema, tables: [...tables.values()] };
}

export async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

const SEED_USERS = `('Alice', 'alice@example.com', 31, 'Al'), ('Bob', 'bob@example.com', 17, NULL), ('Ünïcödé', 'u@example.com', 44, 'U')`;
const SEED_REST = (orders: string, batch: boolean) => `
CREATE TABLE ${orders} (
  id serial PRIMARY KEY,
  user_id int NOT NULL REFERENCES users (id),
  total numeric(10, 2),
  note text
);
CREATE TABLE order_items (
  id serial PRIMARY KEY,
  order_id int NOT NULL,
  sku text NOT NULL,
  qty int NOT NULL DEFAULT 1${batch ? ',\n  batch int NOT NULL' : ''}
);
INSERT INTO ${orders} (user_id, total, note) VALUES (1, 10.50, 'first'), (1, 20, NULL), (2, 5, 'bob');
INSERT INTO order_items (order_id, sku, qty${batch ? ', batch' : ''}) VALUES (1, 'A', 2${batch ? ', 1' : ''}), (2, 'B', 1${batch ? ', 1' : ''});
`;

/**
 * Each version's logical schema as a plain database would hold it, with the
 * same rows as DDL: the control the translated statements are measured
 * against. Written out by hand rather than derived from the version map, so
 * a wrong map cannot make its own control agree with it. Left out: columns
 * and tables a completed migration dropped (`fax`, `sessions`), which no
 * version can serve any more.
 */
export const REFERENCE_DDL: Record<string, string> = {
  '(initial)': `
CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL, mail text, age int, legacy text NOT NULL DEFAULT '');
CREATE UNIQUE INDEX users_name_key ON users (name);
INSERT INTO users (name, mail, age) VALUES ('Alice', 'alice@example.com', 31), ('Bob', 'bob@example.com', 17), ('Ünïcödé', 'u@example.com', 44);
${SEED_REST('orders', false)}`,
  '01_mail': `
CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL, email text, age int, legacy text NOT NULL DEFAULT '');
CREATE UNIQUE INDEX users_name_key ON users (name);
INSERT INTO users (name, email, age) VALUES ('Alice', 'alice@example.com', 31), ('Bob', 'bob@example.com', 17), ('Ünïcödé', 'u@example.com', 44);
${SEED_REST('orders', false)}`,
  '02_nick': `
CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL, email text, age int, legacy text NOT NULL DEFAULT '', "Nick Name" text);
CREATE UNIQUE INDEX users_name_key ON users (name);
INSERT INTO users (name, email, age, "Nick Name") VALUES ${SEED_USERS};
${SEED_REST('orders', true)}`,
  '03_split': `
-- As complete leaves it: the old age and legacy dropped (their column numbers stay taken), the
-- shadow column renamed into place, last.
CREATE TABLE users (id serial PRIMARY KEY, full_name text NOT NULL, email text, old_age int, legacy text, "Nick Name" text, bio text, age bigint);
ALTER TABLE users DROP COLUMN old_age, DROP COLUMN legacy;
CREATE UNIQUE INDEX users_name_key ON users (full_name);
INSERT INTO users (full_name, email, age, "Nick Name") VALUES ${SEED_USERS};
${SEED_REST('purchases', true)}
-- What rename_table leaves, as ALTER TABLE ... RENAME does: the table's serial sequence keeps its name.
ALTER SEQUENCE purchases_id_seq RENAME TO orders_id_seq;
CREATE TABLE tags (id serial PRIMARY KEY, user_id int, label text NOT NULL);
INSERT INTO tags (user_id, label) VALUES (1, 'vip');
`,
};

const ORDERS = { id: 'orders.id', user_id: 'orders.user_id', total: 'orders.total', note: 'orders.note' };
const ITEMS = { id: 'items.id', order_id: 'items.order_id', sku: 'items.sku', qty: 'items.qty' };
const OLD_USERS = {
  id: 'users.id',
  name: 'users.name',
  email: 'users.email',
  age: 'users.age',
  legacy: 'users.legacy',
};

/**
 * Every version's tables and columns, each column with what it means: two
 * versions that have a column of the same meaning show the same data there,
 * so a row one version writes can be read back through the other. `age` of
 * 03_split means something else than the old `age`: the two physical
 * columns are kept equal by sync triggers, which this fixture leaves out.
 */
export const MEANINGS: Record<string, Record<string, Record<string, string>>> = {
  '(initial)': {
    users: {
      id: 'users.id',
      name: 'users.name',
      mail: 'users.email',
      age: 'users.age',
      legacy: 'users.legacy',
    },
    orders: ORDERS,
    order_items: ITEMS,
  },
  '01_mail': { users: OLD_USERS, orders: ORDERS, order_items: ITEMS },
  '02_nick': {
    users: { ...OLD_USERS, 'Nick Name': 'users.nick' },
    orders: ORDERS,
    order_items: { ...ITEMS, batch: 'items.batch' },
  },
  '03_split': {
    users: {
      id: 'users.id',
      full_name: 'users.name',
      email: 'users.email',
      'Nick Name': 'users.nick',
      bio: 'users.bio',
      age: 'users.age_bigint',
    },
    purchases: ORDERS,
    order_items: { ...ITEMS, batch: 'items.batch' },
    tags: { id: 'tags.id', user_id: 'tags.user_id', label: 'tags.label' },
  },
};

/** The physical fixture database with its version map, and one plain reference database per version. */
export interface TranslationDatabases {
  client: pg.Client;
  map: VersionMap;
  /** The version's logical schema as a plain database, to compare answers with. */
  refs: Map<string, pg.Client>;
  close(): Promise<void>;
}

/** Creates the fixture's physical database and a reference database for each of `versions`. */
export async function openTranslationDatabases(
  prefix: string,
  versions: readonly string[],
): Promise<TranslationDatabases> {
  const made: { db: TestDatabase; client: pg.Client }[] = [];
  const open = async (name: string, ddl: string) => {
    const db = await createPgDatabase(name);
    const client = await connect(db.url);
    made.push({ db, client });
    await client.query(ddl);
    return client;
  };
  const client = await open(prefix, DDL);
  const map = buildVersionMap(await introspect(client), HISTORY);
  const refs = new Map<string, pg.Client>();
  for (const v of versions) refs.set(v, await open(`${prefix}_ref`, REFERENCE_DDL[v]!));
  return {
    client,
    map,
    refs,
    async close() {
      for (const m of made) {
        await m.client.end();
        await m.db.drop();
      }
    },
  };
}
