/**
 * The translation table: a statement written for one version, the exact
 * text the translator must produce, and what the client must see. Every
 * case also runs against the physical schema of fixture.ts, and its answer
 * and the rows it leaves are compared with the same statement run on a
 * plain database that is the version's logical schema.
 */
export interface Case {
  /** The session's version. */
  v: string;
  sql: string;
  /**
   * The expected rewritten text; omitted: unchanged (byte for byte). A
   * pattern where the rewrite is too long to spell out (a catalog relation
   * replaced by the version's view of it).
   */
  out?: string | RegExp;
  /** The result column names the client must see (SELECT / RETURNING). */
  cols?: string[];
  params?: unknown[];
  /** False for statements the pg driver cannot run as a plain query (COPY). */
  run?: boolean;
  /**
   * False where the answer is not data to compare with the plain logical
   * schema (EXPLAIN: its estimates follow the physical table's width).
   */
  values?: boolean;
  /**
   * True where a regclass result column names a renamed table: no relation
   * of the version's name exists to print a regclass from, so the proxy
   * sends the version's name as text (type 25 where the plain schema says 2205).
   */
  regclassAsText?: true;
  /** A known wrong answer, explained: the case runs and is reported, not counted as a failure. */
  todo?: string;
}

export const V0 = '(initial)';
export const V1 = '01_mail';
export const V2 = '02_nick';
export const V3 = '03_split';

const NEW_USER_COLS = 'id, name AS full_name, email, "Nick Name", bio, _shiftgate_new_age AS age';
const NEW_USER_NAMES = ['id', 'full_name', 'email', 'Nick Name', 'bio', 'age'];

export const CASES: Case[] = [
  // ---- pass-through ------------------------------------------------------------
  { v: V3, sql: 'SELECT id, sku FROM order_items WHERE qty > 1', cols: ['id', 'sku'] },
  { v: V3, sql: 'SELECT 1 AS one', cols: ['one'] },
  { v: V2, sql: 'SELECT * FROM orders ORDER BY id', cols: ['id', 'user_id', 'total', 'note'] },
  { v: V3, sql: 'SELECT count(*) FROM users WHERE bio IS NULL', cols: ['count'] },
  { v: V3, sql: 'WITH users AS (SELECT 1 AS full_name) SELECT full_name FROM users', cols: ['full_name'] },
  { v: V3, sql: 'INSERT INTO tags (user_id, label) VALUES (1, $1) RETURNING *', params: ['x'] },

  // ---- SELECT: star expansion ----------------------------------------------------
  { v: V3, sql: 'SELECT * FROM users', out: `SELECT ${NEW_USER_COLS} FROM users`, cols: NEW_USER_NAMES },
  {
    v: V2,
    sql: 'SELECT * FROM users',
    out: 'SELECT id, name, email, age, legacy, "Nick Name" FROM users',
    cols: ['id', 'name', 'email', 'age', 'legacy', 'Nick Name'],
  },
  {
    v: V1,
    sql: 'SELECT * FROM users WHERE id = $1',
    out: 'SELECT id, name, email, age, legacy FROM users WHERE id = $1',
    cols: ['id', 'name', 'email', 'age', 'legacy'],
    params: [1],
  },
  {
    v: V3,
    sql: 'SELECT u.* FROM users AS u',
    out: 'SELECT u.id, u.name AS full_name, u.email, u."Nick Name", u.bio, u._shiftgate_new_age AS age FROM users AS u',
    cols: NEW_USER_NAMES,
  },
  {
    v: V3,
    sql: 'SELECT * FROM purchases',
    out: 'SELECT * FROM orders AS purchases',
    cols: ['id', 'user_id', 'total', 'note'],
  },
  {
    v: V3,
    sql: 'SELECT * FROM users u JOIN purchases p ON p.user_id = u.id',
    out: 'SELECT u.id, u.name AS full_name, u.email, u."Nick Name", u.bio, u._shiftgate_new_age AS age, p.* FROM users u JOIN orders p ON p.user_id = u.id',
    cols: [...NEW_USER_NAMES, 'id', 'user_id', 'total', 'note'],
  },
  {
    v: V3,
    sql: 'SELECT t.*, u.full_name FROM tags t JOIN users u ON u.id = t.user_id',
    out: 'SELECT t.*, u.name AS full_name FROM tags t JOIN users u ON u.id = t.user_id',
    cols: ['id', 'user_id', 'label', 'full_name'],
  },

  // ---- SELECT: columns, aliases, case, quoting -------------------------------------
  {
    v: V3,
    sql: 'SELECT full_name FROM users WHERE id = $1',
    out: 'SELECT name AS full_name FROM users WHERE id = $1',
    cols: ['full_name'],
    params: [1],
  },
  {
    v: V3,
    sql: 'select FULL_NAME from USERS',
    out: 'select name AS full_name from USERS',
    cols: ['full_name'],
  },
  {
    v: V3,
    sql: 'SELECT "full_name" FROM "users"',
    out: 'SELECT name AS full_name FROM "users"',
    cols: ['full_name'],
  },
  {
    v: V3,
    sql: 'SELECT u.full_name, u.age FROM users u',
    out: 'SELECT u.name AS full_name, u._shiftgate_new_age AS age FROM users u',
    cols: ['full_name', 'age'],
  },
  {
    v: V3,
    sql: 'SELECT users.full_name FROM users',
    out: 'SELECT users.name AS full_name FROM users',
    cols: ['full_name'],
  },
  {
    v: V3,
    sql: 'SELECT public.users.full_name FROM public.users',
    out: 'SELECT public.users.name AS full_name FROM public.users',
    cols: ['full_name'],
  },
  {
    v: V3,
    sql: 'SELECT full_name AS who, age years FROM users',
    out: 'SELECT name AS who, _shiftgate_new_age years FROM users',
    cols: ['who', 'years'],
  },
  {
    v: V3,
    sql: 'SELECT "Nick Name", full_name FROM users',
    out: 'SELECT "Nick Name", name AS full_name FROM users',
    cols: ['Nick Name', 'full_name'],
  },
  {
    v: V0,
    sql: 'SELECT mail FROM users WHERE id = 1',
    out: 'SELECT email AS mail FROM users WHERE id = 1',
    cols: ['mail'],
  },
  {
    v: V3,
    sql: 'SELECT full_name::varchar(20), age::text FROM users',
    out: 'SELECT name::varchar(20) AS full_name, _shiftgate_new_age::text AS age FROM users',
    cols: ['full_name', 'age'],
  },
  {
    v: V3,
    sql: 'SELECT (full_name), (u.age)::int FROM users u',
    out: 'SELECT (name) AS full_name, (u._shiftgate_new_age)::int AS age FROM users u',
    cols: ['full_name', 'age'],
  },
  {
    v: V3,
    sql: 'SELECT full_name COLLATE "C" FROM users WHERE full_name IS DISTINCT FROM email',
    out: 'SELECT name COLLATE "C" AS full_name FROM users WHERE name IS DISTINCT FROM email',
    cols: ['full_name'],
  },
  {
    v: V3,
    sql: 'SELECT CAST(age AS int) FROM users',
    out: 'SELECT CAST(_shiftgate_new_age AS int) AS age FROM users',
    cols: ['age'],
  },
  {
    v: V3,
    sql: 'SELECT upper(full_name) AS n, coalesce(bio, $$none$$) FROM users WHERE full_name ILIKE $1 AND age BETWEEN 1 AND 99',
    out: 'SELECT upper(name) AS n, coalesce(bio, $$none$$) FROM users WHERE name ILIKE $1 AND _shiftgate_new_age BETWEEN 1 AND 99',
    cols: ['n', 'coalesce'],
    params: ['a%'],
  },
  {
    v: V3,
    sql: 'SELECT CASE WHEN age > 30 THEN full_name ELSE email END FROM users',
    out: 'SELECT CASE WHEN _shiftgate_new_age > 30 THEN name ELSE email END FROM users',
    cols: ['email'],
  },
  {
    v: V3,
    sql: "SELECT json_build_object('name', full_name, 'age', age) AS j FROM users",
    out: "SELECT json_build_object('name', name, 'age', _shiftgate_new_age) AS j FROM users",
    cols: ['j'],
  },
  {
    v: V3,
    sql: 'SELECT id FROM users WHERE full_name = ANY($1::text[])',
    out: 'SELECT id FROM users WHERE name = ANY($1::text[])',
    params: [['Alice', 'Bob']],
  },

  // ---- comments, literals, multibyte text -------------------------------------------
  {
    v: V3,
    sql: 'SELECT /* full_name */ full_name -- trailing users\nFROM users',
    out: 'SELECT /* full_name */ name AS full_name -- trailing users\nFROM users',
    cols: ['full_name'],
  },
  {
    v: V3,
    sql: 'SELECT u /* q */ . full_name FROM users u',
    out: 'SELECT u /* q */ . name AS full_name FROM users u',
    cols: ['full_name'],
  },
  {
    v: V3,
    sql: "SELECT 'héllo wörld ✓' AS greeting, full_name FROM users WHERE full_name <> 'ünïcödé'",
    out: "SELECT 'héllo wörld ✓' AS greeting, name AS full_name FROM users WHERE name <> 'ünïcödé'",
    cols: ['greeting', 'full_name'],
  },
  {
    v: V3,
    sql: '/* 日本語のコメント */ SELECT full_name FROM users',
    out: '/* 日本語のコメント */ SELECT name AS full_name FROM users',
    cols: ['full_name'],
  },
  {
    v: V3,
    sql: `SELECT '🙂' AS "émoji", u."Nick Name" FROM users u WHERE u.full_name = '🙂🙂' OR u.age > 0`,
    out: `SELECT '🙂' AS "émoji", u."Nick Name" FROM users u WHERE u.name = '🙂🙂' OR u._shiftgate_new_age > 0`,
    cols: ['émoji', 'Nick Name'],
  },
  {
    v: V3,
    sql: "SELECT 'full_name FROM users' AS s, full_name FROM users",
    out: "SELECT 'full_name FROM users' AS s, name AS full_name FROM users",
    cols: ['s', 'full_name'],
  },
  {
    v: V3,
    sql: "SELECT $$full_name$$, E'it\\'s' AS e, full_name FROM users",
    out: "SELECT $$full_name$$, E'it\\'s' AS e, name AS full_name FROM users",
    cols: ['?column?', 'e', 'full_name'],
  },
  {
    v: V3,
    sql: 'SELECT full_name FROM users; SELECT total FROM purchases',
    out: 'SELECT name AS full_name FROM users; SELECT total FROM orders AS purchases',
  },
  {
    v: V3,
    sql: "SELECT 'ü' AS a; -- ü\nSELECT age FROM users WHERE full_name = 'ß'",
    out: "SELECT 'ü' AS a; -- ü\nSELECT _shiftgate_new_age AS age FROM users WHERE name = 'ß'",
  },

  // ---- joins, subqueries, CTEs ------------------------------------------------------
  {
    v: V3,
    sql: 'SELECT purchases.total FROM purchases WHERE purchases.user_id = 1',
    out: 'SELECT purchases.total FROM orders AS purchases WHERE purchases.user_id = 1',
    cols: ['total'],
  },
  {
    v: V3,
    sql: 'SELECT public.purchases.total FROM public.purchases',
    out: 'SELECT purchases.total FROM public.orders AS purchases',
    cols: ['total'],
  },
  {
    v: V3,
    sql: 'SELECT u.full_name, p.total FROM users u JOIN purchases p ON p.user_id = u.id ORDER BY p.total DESC',
    out: 'SELECT u.name AS full_name, p.total FROM users u JOIN orders p ON p.user_id = u.id ORDER BY p.total DESC',
    cols: ['full_name', 'total'],
  },
  {
    v: V3,
    sql: 'SELECT full_name, total FROM users JOIN purchases ON purchases.user_id = users.id',
    out: 'SELECT name AS full_name, total FROM users JOIN orders AS purchases ON purchases.user_id = users.id',
    cols: ['full_name', 'total'],
  },
  {
    v: V3,
    sql: 'SELECT u.email, oi.sku FROM users u LEFT JOIN purchases p ON p.user_id = u.id LEFT JOIN order_items oi ON oi.order_id = p.id WHERE u.age >= 18',
    out: 'SELECT u.email, oi.sku FROM users u LEFT JOIN orders p ON p.user_id = u.id LEFT JOIN order_items oi ON oi.order_id = p.id WHERE u._shiftgate_new_age >= 18',
    cols: ['email', 'sku'],
  },
  {
    v: V3,
    sql: 'SELECT total FROM purchases JOIN order_items USING (id)',
    out: 'SELECT total FROM orders AS purchases JOIN order_items USING (id)',
    cols: ['total'],
  },
  {
    v: V3,
    sql: 'SELECT email FROM users WHERE id IN (SELECT user_id FROM purchases WHERE total > 10)',
    out: 'SELECT email FROM users WHERE id IN (SELECT user_id FROM orders AS purchases WHERE total > 10)',
    cols: ['email'],
  },
  {
    v: V3,
    sql: 'SELECT full_name, (SELECT count(*) FROM purchases p WHERE p.user_id = u.id) AS n FROM users u',
    out: 'SELECT name AS full_name, (SELECT count(*) FROM orders p WHERE p.user_id = u.id) AS n FROM users u',
    cols: ['full_name', 'n'],
  },
  {
    v: V3,
    sql: "SELECT email FROM users WHERE EXISTS (SELECT 1 FROM purchases WHERE user_id = users.id AND full_name <> '')",
    out: "SELECT email FROM users WHERE EXISTS (SELECT 1 FROM orders AS purchases WHERE user_id = users.id AND name <> '')",
    cols: ['email'],
  },
  {
    // `bio` is hidden from 02_nick but exists physically in users: the outer reference is qualified.
    v: V2,
    sql: "SELECT (SELECT bio FROM users WHERE id = 1 LIMIT 1) FROM (SELECT 'x' AS bio) s",
    out: "SELECT (SELECT s.bio FROM users WHERE id = 1 LIMIT 1) FROM (SELECT 'x' AS bio) s",
    cols: ['bio'],
  },
  {
    v: V3,
    sql: 'SELECT (SELECT full_name FROM users WHERE id = 1) AS who',
    out: 'SELECT (SELECT name AS full_name FROM users WHERE id = 1) AS who',
    cols: ['who'],
  },
  {
    v: V3,
    sql: 'SELECT s.full_name FROM (SELECT full_name FROM users) s',
    out: 'SELECT s.full_name FROM (SELECT name AS full_name FROM users) s',
    cols: ['full_name'],
  },
  {
    v: V3,
    sql: 'SELECT x.a FROM (SELECT full_name FROM users) AS x(a)',
    out: 'SELECT x.a FROM (SELECT name AS full_name FROM users) AS x(a)',
    cols: ['a'],
  },
  {
    v: V3,
    sql: 'SELECT u.full_name, last.total FROM users u, LATERAL (SELECT total FROM purchases p WHERE p.user_id = u.id ORDER BY p.id DESC LIMIT 1) last',
    out: 'SELECT u.name AS full_name, last.total FROM users u, LATERAL (SELECT total FROM orders p WHERE p.user_id = u.id ORDER BY p.id DESC LIMIT 1) last',
    cols: ['full_name', 'total'],
  },
  {
    v: V3,
    sql: 'SELECT u.full_name, g FROM users u, generate_series(1, 2) g',
    out: 'SELECT u.name AS full_name, g FROM users u, generate_series(1, 2) g',
    cols: ['full_name', 'g'],
  },
  {
    v: V3,
    sql: 'WITH big AS (SELECT user_id, sum(total) AS s FROM purchases GROUP BY user_id) SELECT u.full_name, big.s FROM users u JOIN big ON big.user_id = u.id',
    out: 'WITH big AS (SELECT user_id, sum(total) AS s FROM orders AS purchases GROUP BY user_id) SELECT u.name AS full_name, big.s FROM users u JOIN big ON big.user_id = u.id',
    cols: ['full_name', 's'],
  },
  {
    v: V3,
    sql: 'WITH n AS (SELECT id, full_name FROM users) SELECT full_name FROM n ORDER BY full_name',
    out: 'WITH n AS (SELECT id, name AS full_name FROM users) SELECT full_name FROM n ORDER BY full_name',
    cols: ['full_name'],
  },
  {
    v: V3,
    sql: 'WITH a AS (SELECT id, full_name FROM users), b AS (SELECT full_name FROM a WHERE id > 0) SELECT * FROM b',
    out: 'WITH a AS (SELECT id, name AS full_name FROM users), b AS (SELECT full_name FROM a WHERE id > 0) SELECT * FROM b',
    cols: ['full_name'],
  },
  {
    v: V3,
    sql: 'WITH RECURSIVE r(n, who) AS (SELECT 1, full_name FROM users WHERE id = 1 UNION ALL SELECT n + 1, who FROM r WHERE n < 3) SELECT * FROM r',
    out: 'WITH RECURSIVE r(n, who) AS (SELECT 1, name AS full_name FROM users WHERE id = 1 UNION ALL SELECT n + 1, who FROM r WHERE n < 3) SELECT * FROM r',
    cols: ['n', 'who'],
  },
  {
    v: V3,
    sql: 'SELECT full_name FROM users UNION SELECT label FROM tags ORDER BY full_name',
    out: 'SELECT name AS full_name FROM users UNION SELECT label FROM tags ORDER BY full_name',
    cols: ['full_name'],
  },

  // ---- GROUP BY, ORDER BY, DISTINCT, windows, locking ----------------------------------
  {
    v: V3,
    sql: 'SELECT age, count(*) FROM users GROUP BY age HAVING count(*) > 0 ORDER BY age',
    out: 'SELECT _shiftgate_new_age AS age, count(*) FROM users GROUP BY _shiftgate_new_age HAVING count(*) > 0 ORDER BY age',
    cols: ['age', 'count'],
  },
  {
    v: V3,
    sql: 'SELECT id FROM users ORDER BY full_name DESC, age',
    out: 'SELECT id FROM users ORDER BY name DESC, _shiftgate_new_age',
    cols: ['id'],
  },
  {
    v: V3,
    sql: 'SELECT id FROM users ORDER BY lower(full_name) NULLS LAST',
    out: 'SELECT id FROM users ORDER BY lower(name) NULLS LAST',
    cols: ['id'],
  },
  {
    v: V3,
    sql: 'SELECT DISTINCT ON (age) age, full_name FROM users ORDER BY age, full_name',
    out: 'SELECT DISTINCT ON (age) _shiftgate_new_age AS age, name AS full_name FROM users ORDER BY age, full_name',
    cols: ['age', 'full_name'],
  },
  {
    v: V3,
    sql: 'SELECT full_name, row_number() OVER (PARTITION BY age ORDER BY full_name) FROM users',
    out: 'SELECT name AS full_name, row_number() OVER (PARTITION BY _shiftgate_new_age ORDER BY name) FROM users',
    cols: ['full_name', 'row_number'],
  },
  {
    v: V3,
    sql: "SELECT p.total FROM purchases p JOIN users u ON u.id = p.user_id WHERE u.full_name = 'Alice' FOR UPDATE OF p",
    out: "SELECT p.total FROM orders p JOIN users u ON u.id = p.user_id WHERE u.name = 'Alice' FOR UPDATE OF p",
    cols: ['total'],
  },

  // ---- output names that ORDER BY / DISTINCT ON / GROUP BY bind first ----------------------------
  // ORDER BY and DISTINCT ON bind a bare name to an output column before an input column:
  // a rewritten name that equals an output name is qualified so it stays the input column.
  {
    v: V3,
    sql: 'SELECT id AS name, full_name AS n FROM users ORDER BY full_name DESC LIMIT 3',
    out: 'SELECT id AS name, name AS n FROM users ORDER BY users.name DESC LIMIT 3',
    cols: ['name', 'n'],
  },
  {
    v: V3,
    sql: 'SELECT u.id AS name FROM users u WHERE u.id < 3 ORDER BY full_name DESC',
    out: 'SELECT u.id AS name FROM users u WHERE u.id < 3 ORDER BY u.name DESC',
    cols: ['name'],
  },
  {
    v: V3,
    sql: 'SELECT DISTINCT ON (full_name) id AS name, email FROM users ORDER BY full_name DESC, id',
    out: 'SELECT DISTINCT ON (users.name) id AS name, email FROM users ORDER BY users.name DESC, id',
    cols: ['name', 'email'],
  },
  {
    v: V3,
    sql: 'SELECT 4 - p.id AS _shiftgate_new_age, u.full_name FROM users u JOIN purchases p ON p.user_id = u.id ORDER BY age, p.id',
    out: 'SELECT 4 - p.id AS _shiftgate_new_age, u.name AS full_name FROM users u JOIN orders p ON p.user_id = u.id ORDER BY u._shiftgate_new_age, p.id',
    cols: ['_shiftgate_new_age', 'full_name'],
  },
  {
    // The output named like the physical column is that very column: qualified all the same.
    v: V3,
    sql: 'SELECT full_name AS name FROM users ORDER BY full_name',
    out: 'SELECT name AS name FROM users ORDER BY users.name',
    cols: ['name'],
  },
  {
    v: V3,
    sql: 'SELECT id AS name FROM users ORDER BY name',
    cols: ['name'],
  },
  {
    v: V3,
    sql: 'SELECT * FROM (SELECT id AS name, full_name FROM users ORDER BY full_name LIMIT 2) s ORDER BY name',
    out: 'SELECT * FROM (SELECT id AS name, name AS full_name FROM users ORDER BY full_name LIMIT 2) s ORDER BY name',
    cols: ['name', 'full_name'],
  },
  {
    v: V3,
    sql: 'SELECT id AS name FROM users ORDER BY lower(full_name) DESC',
    out: 'SELECT id AS name FROM users ORDER BY lower(name) DESC',
    cols: ['name'],
  },
  // GROUP BY binds a bare name to a column of its own FROM first, then to an output name:
  // an output name that a hidden or physical column shares becomes the output's position.
  {
    v: V3,
    sql: 'SELECT length(full_name) > 3 AS name, count(*) FROM users GROUP BY name ORDER BY name',
    out: 'SELECT length(name) > 3 AS name, count(*) FROM users GROUP BY 1 ORDER BY name',
    cols: ['name', 'count'],
  },
  {
    v: V2,
    sql: "SELECT split_part(email, '@', 2) AS bio, count(*) FROM users GROUP BY bio",
    out: "SELECT split_part(email, '@', 2) AS bio, count(*) FROM users GROUP BY 1",
    cols: ['bio', 'count'],
  },
  {
    v: V3,
    sql: "SELECT count(*), upper(split_part(email, '@', 2)) AS legacy FROM users GROUP BY ROLLUP (legacy) ORDER BY legacy",
    out: "SELECT count(*), upper(split_part(email, '@', 2)) AS legacy FROM users GROUP BY ROLLUP (2) ORDER BY legacy",
    cols: ['count', 'legacy'],
  },
  {
    v: V3,
    sql: 'SELECT age > 20 AS age, email IS NULL AS legacy, count(*) FROM users GROUP BY (age, legacy) ORDER BY 1, 2',
    out: 'SELECT _shiftgate_new_age > 20 AS age, email IS NULL AS legacy, count(*) FROM users GROUP BY (_shiftgate_new_age, 2) ORDER BY 1, 2',
    cols: ['age', 'legacy', 'count'],
  },
  {
    v: V3,
    sql: 'SELECT u.*, length(u.full_name) > 3 AS legacy FROM users u GROUP BY u.id, GROUPING SETS ((legacy), ()) ORDER BY u.id, legacy',
    out: 'SELECT u.id, u.name AS full_name, u.email, u."Nick Name", u.bio, u._shiftgate_new_age AS age, length(u.name) > 3 AS legacy FROM users u GROUP BY u.id, GROUPING SETS ((7), ()) ORDER BY u.id, legacy',
    cols: [...NEW_USER_NAMES, 'legacy'],
  },
  {
    // The FROM column wins over the output name, logically and physically.
    v: V3,
    sql: 'SELECT email AS full_name, count(*) FROM users GROUP BY full_name, email ORDER BY 1',
    out: 'SELECT email AS full_name, count(*) FROM users GROUP BY name, email ORDER BY 1',
    cols: ['full_name', 'count'],
  },
  {
    // An outer column in GROUP BY: its physical name must not bind to the subquery's output name.
    v: V3,
    sql: 'SELECT id, (SELECT max(t.label) AS name FROM tags t GROUP BY full_name) AS m FROM users ORDER BY id',
    out: 'SELECT id, (SELECT max(t.label) AS name FROM tags t GROUP BY users.name) AS m FROM users ORDER BY id',
    cols: ['id', 'm'],
  },

  // ---- output aliases after the whole target, whatever it holds ----------------------------------
  {
    v: V3,
    sql: "SELECT CASE WHEN full_name IS DISTINCT FROM 'Bob' THEN 'y' ELSE full_name END FROM users",
    out: "SELECT CASE WHEN name IS DISTINCT FROM 'Bob' THEN 'y' ELSE name END AS full_name FROM users",
    cols: ['full_name'],
  },
  {
    v: V3,
    sql: "SELECT CASE WHEN age IS NOT DISTINCT FROM 31 THEN 'y' ELSE full_name END, id FROM users ORDER BY id",
    out: "SELECT CASE WHEN _shiftgate_new_age IS NOT DISTINCT FROM 31 THEN 'y' ELSE name END AS full_name, id FROM users ORDER BY id",
    cols: ['full_name', 'id'],
  },
  {
    v: V3,
    sql: "SELECT CASE WHEN coalesce(full_name, email) IS DISTINCT /* not */ FROM 'x' THEN (SELECT label FROM tags LIMIT 1) ELSE full_name END /* tail */, id FROM users",
    out: "SELECT CASE WHEN coalesce(name, email) IS DISTINCT /* not */ FROM 'x' THEN (SELECT label FROM tags LIMIT 1) ELSE name END AS full_name /* tail */, id FROM users",
    cols: ['full_name', 'id'],
  },
  {
    v: V3,
    sql: "SELECT id, CASE WHEN id = 1 THEN CASE WHEN full_name IS DISTINCT FROM email THEN 'a' END ELSE full_name END -- end\nFROM users",
    out: "SELECT id, CASE WHEN id = 1 THEN CASE WHEN name IS DISTINCT FROM email THEN 'a' END ELSE name END AS full_name -- end\nFROM users",
    cols: ['id', 'full_name'],
  },
  {
    v: V3,
    sql: 'SELECT CASE WHEN id > 1 THEN email ELSE full_name END::varchar(30) FROM users WHERE id < 3',
    out: 'SELECT CASE WHEN id > 1 THEN email ELSE name END::varchar(30) AS full_name FROM users WHERE id < 3',
    cols: ['full_name'],
  },
  {
    v: V3,
    sql: 'SELECT CASE WHEN email IS DISTINCT FROM NULL THEN full_name ELSE full_name END COLLATE "C" FROM users ORDER BY 1',
    out: 'SELECT CASE WHEN email IS DISTINCT FROM NULL THEN name ELSE name END COLLATE "C" AS full_name FROM users ORDER BY 1',
    cols: ['full_name'],
  },
  {
    v: V3,
    sql: "SELECT CASE WHEN now() AT TIME ZONE 'UTC' < '2000-01-01' THEN email ELSE full_name END FROM users",
    out: "SELECT CASE WHEN now() AT TIME ZONE 'UTC' < '2000-01-01' THEN email ELSE name END AS full_name FROM users",
    cols: ['full_name'],
  },
  {
    v: V3,
    sql: 'SELECT CASE WHEN row_number() OVER (ORDER BY id DESC) > 1 THEN email ELSE full_name END FROM users',
    out: 'SELECT CASE WHEN row_number() OVER (ORDER BY id DESC) > 1 THEN email ELSE name END AS full_name FROM users',
    cols: ['full_name'],
  },
  {
    v: V3,
    sql: "SELECT CASE WHEN count(*) FILTER (WHERE age > 20) > 0 THEN 'x' ELSE full_name END FROM users GROUP BY full_name ORDER BY 1",
    out: "SELECT CASE WHEN count(*) FILTER (WHERE _shiftgate_new_age > 20) > 0 THEN 'x' ELSE name END AS full_name FROM users GROUP BY name ORDER BY 1",
    cols: ['full_name'],
  },
  {
    v: V3,
    sql: 'SELECT CASE WHEN percentile_disc(0.5) WITHIN GROUP (ORDER BY age) > 20 THEN email ELSE full_name END FROM users GROUP BY full_name, email ORDER BY 1',
    out: 'SELECT CASE WHEN percentile_disc(0.5) WITHIN GROUP (ORDER BY _shiftgate_new_age) > 20 THEN email ELSE name END AS full_name FROM users GROUP BY name, email ORDER BY 1',
    cols: ['full_name'],
  },
  {
    v: V3,
    sql: "SELECT CASE WHEN full_name = ANY (ARRAY['Bob', email]) AND ROW(id, full_name) IS DISTINCT FROM ROW(1, 'Alice') THEN email ELSE full_name END FROM users ORDER BY 1",
    out: "SELECT CASE WHEN name = ANY (ARRAY['Bob', email]) AND ROW(id, name) IS DISTINCT FROM ROW(1, 'Alice') THEN email ELSE name END AS full_name FROM users ORDER BY 1",
    cols: ['full_name'],
  },
  {
    v: V3,
    sql: 'SELECT CASE WHEN EXISTS (SELECT 1 FROM tags t WHERE t.user_id = u.id) THEN u.email ELSE u.full_name END FROM users u ORDER BY 1',
    out: 'SELECT CASE WHEN EXISTS (SELECT 1 FROM tags t WHERE t.user_id = u.id) THEN u.email ELSE u.name END AS full_name FROM users u ORDER BY 1',
    cols: ['full_name'],
  },
  {
    v: V3,
    sql: "SELECT CASE WHEN full_name IS DISTINCT FROM 'x' THEN full_name END INTO TEMP picked FROM users",
    out: "SELECT CASE WHEN name IS DISTINCT FROM 'x' THEN name END INTO TEMP picked FROM users",
  },
  {
    v: V3,
    sql: "SELECT CASE WHEN id = 2 THEN 'b' ELSE full_name END INTO TEMP picked FROM users; SELECT full_name FROM picked ORDER BY 1",
    out: "SELECT CASE WHEN id = 2 THEN 'b' ELSE name END AS full_name INTO TEMP picked FROM users; SELECT full_name FROM picked ORDER BY 1",
  },
  {
    // Targets of subqueries without FROM, followed by WHERE, GROUP BY, ORDER BY, LIMIT, UNION and `)`.
    v: V3,
    sql: `SELECT (SELECT CASE WHEN u.id IS DISTINCT FROM 2 THEN u.email ELSE u.full_name END WHERE u.id > 0) AS a,
  (SELECT CASE WHEN u.id IS DISTINCT FROM 2 THEN u.email ELSE u.full_name END GROUP BY 1) AS b,
  (SELECT CASE WHEN u.id IS DISTINCT FROM 2 THEN u.email ELSE u.full_name END ORDER BY 1) AS c,
  (SELECT CASE WHEN u.id IS DISTINCT FROM 2 THEN u.email ELSE u.full_name END LIMIT 1) AS d,
  (SELECT CASE WHEN u.id IS DISTINCT FROM 2 THEN u.email ELSE u.full_name END UNION ALL SELECT 'z' LIMIT 1) AS e,
  (SELECT CASE WHEN u.id IS DISTINCT FROM 2 THEN u.email ELSE u.full_name END) AS f
FROM users u ORDER BY u.id`,
    out: `SELECT (SELECT CASE WHEN u.id IS DISTINCT FROM 2 THEN u.email ELSE u.name END AS full_name WHERE u.id > 0) AS a,
  (SELECT CASE WHEN u.id IS DISTINCT FROM 2 THEN u.email ELSE u.name END AS full_name GROUP BY 1) AS b,
  (SELECT CASE WHEN u.id IS DISTINCT FROM 2 THEN u.email ELSE u.name END AS full_name ORDER BY 1) AS c,
  (SELECT CASE WHEN u.id IS DISTINCT FROM 2 THEN u.email ELSE u.name END AS full_name LIMIT 1) AS d,
  (SELECT CASE WHEN u.id IS DISTINCT FROM 2 THEN u.email ELSE u.name END AS full_name UNION ALL SELECT 'z' LIMIT 1) AS e,
  (SELECT CASE WHEN u.id IS DISTINCT FROM 2 THEN u.email ELSE u.name END AS full_name) AS f
FROM users u ORDER BY u.id`,
    cols: ['a', 'b', 'c', 'd', 'e', 'f'],
  },
  {
    v: V3,
    sql: 'SELECT s.full_name FROM (SELECT CASE WHEN u.email IS DISTINCT FROM NULL THEN u.email ELSE u.full_name END FROM users u) s ORDER BY 1',
    out: 'SELECT s.full_name FROM (SELECT CASE WHEN u.email IS DISTINCT FROM NULL THEN u.email ELSE u.name END AS full_name FROM users u) s ORDER BY 1',
    cols: ['full_name'],
  },
  {
    v: V3,
    sql: "UPDATE users SET bio = 'b' WHERE id = 1 RETURNING id, CASE WHEN bio IS DISTINCT FROM NULL THEN email ELSE full_name END",
    out: "UPDATE users SET bio = 'b' WHERE id = 1 RETURNING id, CASE WHEN bio IS DISTINCT FROM NULL THEN email ELSE name END AS full_name",
    cols: ['id', 'full_name'],
  },
  {
    v: V3,
    sql: "UPDATE users SET bio = 'b' WHERE id = 1 RETURNING CASE WHEN bio IS DISTINCT FROM 'b' THEN email ELSE full_name END -- done",
    out: "UPDATE users SET bio = 'b' WHERE id = 1 RETURNING CASE WHEN bio IS DISTINCT FROM 'b' THEN email ELSE name END AS full_name -- done",
    cols: ['full_name'],
  },
  {
    v: V3,
    sql: "WITH w AS (UPDATE users SET bio = 'x' WHERE id = 1 RETURNING CASE WHEN bio IS DISTINCT FROM 'y' THEN email ELSE full_name END) SELECT * FROM w; SELECT 1",
    out: "WITH w AS (UPDATE users SET bio = 'x' WHERE id = 1 RETURNING CASE WHEN bio IS DISTINCT FROM 'y' THEN email ELSE name END AS full_name) SELECT * FROM w; SELECT 1",
    cols: ['full_name'],
  },
  {
    v: V3,
    sql: 'DELETE FROM users WHERE id = 3 RETURNING (CASE WHEN age IS DISTINCT FROM 1 THEN bio ELSE full_name END)::text;',
    out: 'DELETE FROM users WHERE id = 3 RETURNING (CASE WHEN _shiftgate_new_age IS DISTINCT FROM 1 THEN bio ELSE name END)::text AS full_name;',
    cols: ['full_name'],
  },
  {
    v: V3,
    sql: 'SELECT full_name FROM users WHERE id = 1 UNION ALL SELECT CASE WHEN u.id IS DISTINCT FROM 1 THEN u.email ELSE u.full_name END FROM users u WHERE u.id = 2 ORDER BY 1',
    out: 'SELECT name AS full_name FROM users WHERE id = 1 UNION ALL SELECT CASE WHEN u.id IS DISTINCT FROM 1 THEN u.email ELSE u.name END AS full_name FROM users u WHERE u.id = 2 ORDER BY 1',
    cols: ['full_name'],
  },

  // ---- INSERT ------------------------------------------------------------------------------
  {
    v: V3,
    sql: "INSERT INTO users (full_name, email, age) VALUES ('Zed', 'z@x', 40)",
    out: "INSERT INTO users (name, email, _shiftgate_new_age) VALUES ('Zed', 'z@x', 40)",
  },
  {
    v: V3,
    sql: "INSERT INTO users VALUES (100, 'Zed', 'z@x', 'Z', 'bio', 40)",
    out: `INSERT INTO users (id, name, email, "Nick Name", bio, _shiftgate_new_age) VALUES (100, 'Zed', 'z@x', 'Z', 'bio', 40)`,
  },
  {
    v: V2,
    sql: "INSERT INTO users VALUES (101, 'Old', 'o@x', 41, 'leg')",
    out: "INSERT INTO users (id, name, email, age, legacy) VALUES (101, 'Old', 'o@x', 41, 'leg')",
  },
  {
    v: V3,
    sql: "INSERT INTO users (full_name) VALUES ('R') RETURNING *",
    out: `INSERT INTO users (name) VALUES ('R') RETURNING ${NEW_USER_COLS}`,
    cols: NEW_USER_NAMES,
  },
  {
    v: V3,
    sql: 'INSERT INTO users (full_name) VALUES ($1) RETURNING id, full_name, age',
    out: 'INSERT INTO users (name) VALUES ($1) RETURNING id, name AS full_name, _shiftgate_new_age AS age',
    cols: ['id', 'full_name', 'age'],
    params: ['P'],
  },
  {
    v: V3,
    sql: "INSERT INTO users (id, full_name, email) VALUES (1, 'A', 'a@x') ON CONFLICT (id) DO UPDATE SET full_name = EXCLUDED.full_name, age = users.age + 1 RETURNING full_name",
    out: "INSERT INTO users (id, name, email) VALUES (1, 'A', 'a@x') ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, _shiftgate_new_age = users._shiftgate_new_age + 1 RETURNING name AS full_name",
    cols: ['full_name'],
  },
  {
    v: V3,
    sql: "INSERT INTO users AS u (full_name, email) VALUES ('Alice', 'new@x') ON CONFLICT (full_name) DO UPDATE SET email = excluded.email WHERE u.full_name <> '' RETURNING u.full_name",
    out: "INSERT INTO users AS u (name, email) VALUES ('Alice', 'new@x') ON CONFLICT (name) DO UPDATE SET email = excluded.email WHERE u.name <> '' RETURNING u.name AS full_name",
    cols: ['full_name'],
  },
  {
    v: V3,
    sql: "INSERT INTO users (full_name) VALUES ('Bob') ON CONFLICT (full_name) WHERE age > 0 DO NOTHING",
    out: "INSERT INTO users (name) VALUES ('Bob') ON CONFLICT (name) WHERE _shiftgate_new_age > 0 DO NOTHING",
  },
  {
    v: V3,
    sql: 'INSERT INTO purchases (user_id, total) VALUES (1, 5) ON CONFLICT DO NOTHING RETURNING id',
    out: 'INSERT INTO orders AS purchases (user_id, total) VALUES (1, 5) ON CONFLICT DO NOTHING RETURNING id',
    cols: ['id'],
  },
  {
    v: V3,
    sql: "INSERT INTO purchases (user_id, total) SELECT id, age FROM users WHERE full_name = 'Alice'",
    out: "INSERT INTO orders AS purchases (user_id, total) SELECT id, _shiftgate_new_age AS age FROM users WHERE name = 'Alice'",
  },
  {
    v: V3,
    sql: "INSERT INTO purchases SELECT 500, id, 1.5, 'n' FROM users WHERE id = 1",
    out: "INSERT INTO orders AS purchases SELECT 500, id, 1.5, 'n' FROM users WHERE id = 1",
  },
  {
    v: V2,
    sql: "INSERT INTO users SELECT 102, 'Copy', email FROM users WHERE id = 1",
    out: "INSERT INTO users (id, name, email) SELECT 102, 'Copy', email FROM users WHERE id = 1",
  },
  {
    v: V3,
    sql: "WITH src AS (SELECT 'W' AS full_name) INSERT INTO users (full_name) SELECT full_name FROM src RETURNING full_name",
    out: "WITH src AS (SELECT 'W' AS full_name) INSERT INTO users (name) SELECT full_name FROM src RETURNING name AS full_name",
    cols: ['full_name'],
  },
  {
    v: V3,
    sql: 'INSERT INTO "users" ("full_name", "Nick Name") VALUES (\'Q\', \'q\') RETURNING "full_name"',
    out: 'INSERT INTO "users" (name, "Nick Name") VALUES (\'Q\', \'q\') RETURNING name AS full_name',
    cols: ['full_name'],
  },

  // ---- UPDATE / DELETE ------------------------------------------------------------------------
  {
    v: V3,
    sql: 'UPDATE users SET full_name = $1, age = age + 1 WHERE id = $2 RETURNING full_name, age',
    out: 'UPDATE users SET name = $1, _shiftgate_new_age = _shiftgate_new_age + 1 WHERE id = $2 RETURNING name AS full_name, _shiftgate_new_age AS age',
    cols: ['full_name', 'age'],
    params: ['Alicia', 1],
  },
  {
    v: V3,
    sql: "UPDATE purchases p SET total = p.total * 2 FROM users u WHERE u.id = p.user_id AND u.full_name = 'Alice' RETURNING p.*",
    out: "UPDATE orders p SET total = p.total * 2 FROM users u WHERE u.id = p.user_id AND u.name = 'Alice' RETURNING p.*",
    cols: ['id', 'user_id', 'total', 'note'],
  },
  {
    v: V3,
    sql: "UPDATE purchases SET note = 'x' WHERE purchases.id = 1",
    out: "UPDATE orders AS purchases SET note = 'x' WHERE purchases.id = 1",
  },
  {
    v: V3,
    sql: "UPDATE users SET (full_name, age) = ('X', 5) WHERE id = 1",
    out: "UPDATE users SET (name, _shiftgate_new_age) = ('X', 5) WHERE id = 1",
  },
  {
    v: V3,
    sql: "UPDATE users SET (full_name, email) = (SELECT full_name || '!', email FROM users WHERE id = 2) WHERE id = 1",
    out: "UPDATE users SET (name, email) = (SELECT name || '!', email FROM users WHERE id = 2) WHERE id = 1",
  },
  {
    v: V2,
    sql: "UPDATE users SET name = 'Y', legacy = 'l' WHERE id = 1 RETURNING *",
    out: "UPDATE users SET name = 'Y', legacy = 'l' WHERE id = 1 RETURNING id, name, email, age, legacy, \"Nick Name\"",
    cols: ['id', 'name', 'email', 'age', 'legacy', 'Nick Name'],
  },
  {
    v: V0,
    sql: "UPDATE users SET mail = 'm@x' WHERE mail IS NULL OR id = 2 RETURNING mail",
    out: "UPDATE users SET email = 'm@x' WHERE email IS NULL OR id = 2 RETURNING email AS mail",
    cols: ['mail'],
  },
  {
    v: V3,
    sql: "DELETE FROM purchases WHERE user_id IN (SELECT id FROM users WHERE full_name = 'Bob') RETURNING total",
    out: "DELETE FROM orders AS purchases WHERE user_id IN (SELECT id FROM users WHERE name = 'Bob') RETURNING total",
    cols: ['total'],
  },
  {
    v: V3,
    sql: 'DELETE FROM purchases p USING users u WHERE p.user_id = u.id AND u.age > 100',
    out: 'DELETE FROM orders p USING users u WHERE p.user_id = u.id AND u._shiftgate_new_age > 100',
  },
  {
    v: V3,
    sql: "DELETE FROM tags WHERE user_id IN (SELECT id FROM users WHERE full_name = 'Alice') RETURNING label",
    out: "DELETE FROM tags WHERE user_id IN (SELECT id FROM users WHERE name = 'Alice') RETURNING label",
    cols: ['label'],
  },
  {
    v: V3,
    sql: "DELETE FROM users WHERE full_name = 'nobody' RETURNING *",
    out: `DELETE FROM users WHERE name = 'nobody' RETURNING ${NEW_USER_COLS}`,
    cols: NEW_USER_NAMES,
  },

  // ---- other statement kinds ----------------------------------------------------------------
  {
    v: V3,
    sql: 'EXPLAIN SELECT full_name FROM users',
    out: 'EXPLAIN SELECT name AS full_name FROM users',
    values: false,
  },
  {
    v: V3,
    sql: 'PREPARE q(int) AS SELECT full_name FROM users WHERE id = $1',
    out: 'PREPARE q(int) AS SELECT name AS full_name FROM users WHERE id = $1',
  },
  { v: V3, sql: 'TRUNCATE purchases, tags', out: 'TRUNCATE orders, tags' },
  { v: V3, sql: 'LOCK TABLE purchases IN SHARE MODE', out: 'LOCK TABLE orders IN SHARE MODE' },
  {
    v: V3,
    sql: 'COPY users TO STDOUT',
    out: 'COPY users (id, name, email, "Nick Name", bio, _shiftgate_new_age) TO STDOUT',
    run: false,
  },
  {
    v: V3,
    sql: 'COPY users (full_name, email) FROM STDIN',
    out: 'COPY users (name, email) FROM STDIN',
    run: false,
  },
  {
    v: V3,
    sql: 'COPY (SELECT full_name FROM users) TO STDOUT',
    out: 'COPY (SELECT name AS full_name FROM users) TO STDOUT',
    run: false,
  },
  {
    v: V3,
    sql: 'CREATE TEMP TABLE snapshot AS SELECT full_name, age FROM users',
    out: 'CREATE TEMP TABLE snapshot AS SELECT name AS full_name, _shiftgate_new_age AS age FROM users',
  },
];
