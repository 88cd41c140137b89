/**
 * The MariaDB schema the MySQL translation tests run on: the same migration
 * history and column meanings as the PostgreSQL fixture (fixture.ts), with
 * a physical schema in the middle of 03_split built with plain DDL, as the
 * MySQL engine's expand phase would leave it, and one plain reference
 * database per version holding that version's logical schema and the same
 * rows.
 */
import mysql from 'mysql2/promise';
import { buildVersionMap, type PhysicalSchema, type VersionMap } from '../../src/versions/index.ts';
import { createMysqlDatabase, type TestDatabase } from '../helpers/databases.ts';
import { HISTORY } from './fixture.ts';

export const MYSQL_DDL = `
CREATE TABLE users (
  id int AUTO_INCREMENT PRIMARY KEY,
  name varchar(100) NOT NULL,
  email varchar(100),
  age int,
  legacy varchar(50) NOT NULL DEFAULT '',
  \`Nick Name\` varchar(50),
  bio text,
  _shiftgate_new_age bigint,
  UNIQUE KEY users_name_key (name)
);
CREATE TABLE orders (id int AUTO_INCREMENT PRIMARY KEY, user_id int NOT NULL, total decimal(10, 2), note text);
CREATE TABLE order_items (
  id int AUTO_INCREMENT PRIMARY KEY,
  order_id int NOT NULL,
  sku varchar(20) NOT NULL,
  qty int NOT NULL DEFAULT 1,
  batch int NOT NULL
);
CREATE TABLE tags (id int AUTO_INCREMENT PRIMARY KEY, user_id int, label varchar(50) NOT NULL);
INSERT INTO users (name, email, age, _shiftgate_new_age, \`Nick Name\`) VALUES
  ('Alice', 'alice@example.com', 31, 31, 'Al'),
  ('Bob', 'bob@example.com', 17, 17, NULL),
  ('Ünïcödé', 'u@example.com', 44, 44, 'U');
INSERT INTO orders (user_id, total, note) VALUES (1, 10.50, 'first'), (1, 20, NULL), (2, 5, 'bob');
INSERT INTO order_items (order_id, sku, qty, batch) VALUES (1, 'A', 2, 1), (2, 'B', 1, 1);
INSERT INTO tags (user_id, label) VALUES (1, 'vip');
`;

const SEED_USERS = `('Alice', 'alice@example.com', 31, 'Al'), ('Bob', 'bob@example.com', 17, NULL), ('Ünïcödé', 'u@example.com', 44, 'U')`;
const REST = (orders: string, batch: boolean) => `
CREATE TABLE ${orders} (id int AUTO_INCREMENT PRIMARY KEY, user_id int NOT NULL, total decimal(10, 2), note text);
CREATE TABLE order_items (
  id int AUTO_INCREMENT PRIMARY KEY,
  order_id int NOT NULL,
  sku varchar(20) NOT NULL,
  qty int NOT NULL DEFAULT 1${batch ? ',\n  batch int NOT NULL' : ''}
);
INSERT INTO ${orders} (user_id, total, note) VALUES (1, 10.50, 'first'), (1, 20, NULL), (2, 5, 'bob');
INSERT INTO order_items (order_id, sku, qty${batch ? ', batch' : ''}) VALUES (1, 'A', 2${batch ? ', 1' : ''}), (2, 'B', 1${batch ? ', 1' : ''});
`;

/**
 * Each version's logical schema as a plain database, written out by hand
 * rather than derived from the version map, so a wrong map cannot make its
 * own control agree with it.
 */
export const MYSQL_REFERENCE_DDL: Record<string, string> = {
  '(initial)': `
CREATE TABLE users (id int AUTO_INCREMENT PRIMARY KEY, name varchar(100) NOT NULL, mail varchar(100), age int, legacy varchar(50) NOT NULL DEFAULT '', UNIQUE KEY users_name_key (name));
INSERT INTO users (name, mail, age) VALUES ('Alice', 'alice@example.com', 31), ('Bob', 'bob@example.com', 17), ('Ünïcödé', 'u@example.com', 44);
${REST('orders', false)}`,
  '01_mail': `
CREATE TABLE users (id int AUTO_INCREMENT PRIMARY KEY, name varchar(100) NOT NULL, email varchar(100), age int, legacy varchar(50) NOT NULL DEFAULT '', UNIQUE KEY users_name_key (name));
INSERT INTO users (name, email, age) VALUES ('Alice', 'alice@example.com', 31), ('Bob', 'bob@example.com', 17), ('Ünïcödé', 'u@example.com', 44);
${REST('orders', false)}`,
  '02_nick': `
CREATE TABLE users (id int AUTO_INCREMENT PRIMARY KEY, name varchar(100) NOT NULL, email varchar(100), age int, legacy varchar(50) NOT NULL DEFAULT '', \`Nick Name\` varchar(50), UNIQUE KEY users_name_key (name));
INSERT INTO users (name, email, age, \`Nick Name\`) VALUES ${SEED_USERS};
${REST('orders', true)}`,
  '03_split': `
-- As complete leaves it: the altered column last, where its shadow column was added.
CREATE TABLE users (id int AUTO_INCREMENT PRIMARY KEY, full_name varchar(100) NOT NULL, email varchar(100), \`Nick Name\` varchar(50), bio text, age bigint, UNIQUE KEY users_name_key (full_name));
INSERT INTO users (full_name, email, age, \`Nick Name\`) VALUES ${SEED_USERS};
${REST('purchases', true)}
CREATE TABLE tags (id int AUTO_INCREMENT PRIMARY KEY, user_id int, label varchar(50) NOT NULL);
INSERT INTO tags (user_id, label) VALUES (1, 'vip');
`,
};

/** What the MySQL dialect's introspection gives the version map; enough of it for the tests. */
export async function introspectMysqlPhysical(
  conn: mysql.Connection,
  schema: string,
): Promise<PhysicalSchema> {
  const [rows] = await conn.query<mysql.RowDataPacket[]>(
    `SELECT c.TABLE_NAME AS t, c.COLUMN_NAME AS c, c.IS_NULLABLE AS n,
            (c.COLUMN_DEFAULT IS NOT NULL OR c.EXTRA LIKE '%auto_increment%' OR c.GENERATION_EXPRESSION IS NOT NULL AND c.GENERATION_EXPRESSION <> '') AS d
       FROM information_schema.COLUMNS c
       JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
      WHERE c.TABLE_SCHEMA = ? AND t.TABLE_TYPE = 'BASE TABLE'
      ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION`,
    [schema],
  );
  const tables = new Map<string, PhysicalSchema['tables'][number]>();
  for (const r of rows) {
    let t = tables.get(String(r.t));
    if (!t) {
      t = { name: String(r.t), columns: [] };
      tables.set(String(r.t), t);
    }
    t.columns.push({ name: String(r.c), nullable: r.n === 'YES', hasDefault: Number(r.d) === 1 });
  }
  return { schema, tables: [...tables.values()] };
}

export interface MysqlTranslationDatabases {
  /** The physical database's name: the version map's schema. */
  database: string;
  conn: mysql.Connection;
  map: VersionMap;
  refs: Map<string, mysql.Connection>;
  /** Each reference database's name, by version. */
  refDatabases: Map<string, string>;
  close(): Promise<void>;
}

export async function openMysqlTranslationDatabases(prefix: string): Promise<MysqlTranslationDatabases> {
  const made: { db: TestDatabase; conn: mysql.Connection }[] = [];
  const open = async (name: string, ddl: string) => {
    const db = await createMysqlDatabase(name);
    const conn = await mysql.createConnection({
      uri: db.url,
      multipleStatements: true,
      supportBigNumbers: true,
    });
    made.push({ db, conn });
    await conn.query(ddl);
    return { db, conn };
  };
  try {
    const physical = await open(prefix, MYSQL_DDL);
    const map = buildVersionMap(await introspectMysqlPhysical(physical.conn, physical.db.name), HISTORY);
    const refs = new Map<string, mysql.Connection>();
    const refDatabases = new Map<string, string>();
    for (const [v, ddl] of Object.entries(MYSQL_REFERENCE_DDL)) {
      const ref = await open(`${prefix}_ref`, ddl);
      refs.set(v, ref.conn);
      refDatabases.set(v, ref.db.name);
    }
    return {
      database: physical.db.name,
      conn: physical.conn,
      map,
      refs,
      refDatabases,
      async close() {
        for (const m of made) {
          await m.conn.end();
          await m.db.drop();
        }
      },
    };
  } catch (e) {
    for (const m of made) {
      await m.conn.end().catch(() => {});
      await m.db.drop().catch(() => {});
    }
    throw e;
  }
}
