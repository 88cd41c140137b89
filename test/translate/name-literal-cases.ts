/**
 * Table and column names inside string constants that the server resolves
 * as names (regclass constants, to_regclass, pg_get_serial_sequence, the
 * privilege functions, the size functions), in the case table's format.
 * Answers are compared by value with the version's plain reference
 * database, so none of them shows an OID or a regclass (the two databases
 * number their tables differently, and a regclass prints the physical name).
 */
import { type Case, V0, V2, V3 } from './cases.ts';

export const NAME_LITERAL_CASES: Case[] = [
  {
    v: V3,
    sql: "SELECT count(*) FROM pg_index WHERE indrelid = 'purchases'::regclass",
    out: "SELECT count(*) FROM pg_index WHERE indrelid = 'orders'::regclass",
    cols: ['count'],
  },
  {
    v: V3,
    sql: "SELECT count(*) FROM pg_index WHERE indrelid = 'PUBLIC.Purchases'::pg_catalog.regclass",
    out: "SELECT count(*) FROM pg_index WHERE indrelid = 'public.orders'::pg_catalog.regclass",
  },
  {
    v: V3,
    sql: `SELECT count(*) FROM pg_index WHERE indrelid = '  "public" . "purchases" '::regclass`,
    out: `SELECT count(*) FROM pg_index WHERE indrelid = 'public.orders'::regclass`,
  },
  {
    v: V3,
    sql: "SELECT count(*) FROM pg_index WHERE indrelid = CAST('purchases' AS regclass) OR indrelid = regclass 'purchases'",
    out: "SELECT count(*) FROM pg_index WHERE indrelid = CAST('orders' AS regclass) OR indrelid = regclass 'orders'",
  },
  {
    v: V3,
    sql: "SELECT count(*) FROM pg_index WHERE indrelid = E'purchases'::regclass AND indrelid = 'purchases'::text::regclass::oid",
    out: "SELECT count(*) FROM pg_index WHERE indrelid = 'orders'::regclass AND indrelid = 'orders'::text::regclass::oid",
  },
  {
    v: V3,
    sql: "SELECT count(*) FROM pg_index WHERE indrelid = 'users'::regclass",
  },
  {
    v: V3,
    sql: "SELECT to_regclass('public.purchases') IS NOT NULL AS found, to_regclass('orders') IS NULL AS gone",
    out: "SELECT to_regclass('public.orders') IS NOT NULL AS found, to_regclass(NULL) IS NULL AS gone",
    cols: ['found', 'gone'],
  },
  {
    v: V2,
    sql: "SELECT to_regclass('tags') IS NULL AS gone, to_regclass('users') IS NULL AS users",
    out: "SELECT to_regclass(NULL) IS NULL AS gone, to_regclass('users') IS NULL AS users",
  },
  { v: V3, sql: "SELECT pg_get_serial_sequence('users', 'id')" },
  {
    v: V3,
    sql: "SELECT pg_get_serial_sequence('users', 'full_name') AS none, pg_get_serial_sequence('\"purchases\"', 'id') IS NOT NULL AS serial",
    out: "SELECT pg_get_serial_sequence('users', 'name') AS none, pg_get_serial_sequence('orders', 'id') IS NOT NULL AS serial",
  },
  {
    v: V3,
    sql: "SELECT has_table_privilege('purchases', 'SELECT'), has_table_privilege(current_user, 'public.purchases', 'INSERT')",
    out: "SELECT has_table_privilege('orders', 'SELECT'), has_table_privilege(current_user, 'public.orders', 'INSERT')",
  },
  {
    v: V3,
    sql: "SELECT has_column_privilege('users', 'full_name', 'SELECT'), has_column_privilege(current_user, 'users', 'age', 'UPDATE'), has_any_column_privilege('purchases', 'SELECT')",
    out: "SELECT has_column_privilege('users', 'name', 'SELECT'), has_column_privilege(current_user, 'users', '_shiftgate_new_age', 'UPDATE'), has_any_column_privilege('orders', 'SELECT')",
  },
  {
    v: V0,
    sql: "SELECT has_column_privilege('users', 'mail', 'SELECT')",
    out: "SELECT has_column_privilege('users', 'email', 'SELECT')",
  },
  {
    v: V3,
    sql: "SELECT pg_relation_size('purchases') >= 0 AS sized, pg_total_relation_size('purchases') > 0 AS total, pg_table_size('purchases') >= 0, pg_indexes_size('purchases') > 0",
    out: "SELECT pg_relation_size('orders') >= 0 AS sized, pg_total_relation_size('orders') > 0 AS total, pg_table_size('orders') >= 0, pg_indexes_size('orders') > 0",
  },
  {
    v: V3,
    sql: "SELECT obj_description('purchases'::regclass, 'pg_class') IS NULL AS uncommented, pg_relation_is_updatable('purchases', false) > 0 AS updatable",
    out: "SELECT obj_description('orders'::regclass, 'pg_class') IS NULL AS uncommented, pg_relation_is_updatable('orders', false) > 0 AS updatable",
  },
  {
    // A constant in a write: the rewrite is the same inside an INSERT.
    v: V3,
    sql: "INSERT INTO tags (user_id, label) SELECT 1, 'sized' WHERE pg_relation_size('purchases') >= 0 RETURNING label",
    out: "INSERT INTO tags (user_id, label) SELECT 1, 'sized' WHERE pg_relation_size('orders') >= 0 RETURNING label",
    cols: ['label'],
  },
];
