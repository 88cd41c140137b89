/**
 * The MySQL translation table: a statement written for one version, the
 * exact text the translator must produce (or the refusal it must give),
 * and what the client must see. Every case also runs on MariaDB against
 * the physical schema of mysql-fixture.ts and is compared with the same
 * statement on a plain database holding the version's logical schema.
 * `{db}` stands for the database's name (the physical one, or the
 * reference's).
 */
import type { TranslationErrorKind } from '../../src/versions/index.ts';
import { V0, V1, V2, V3 } from './cases.ts';

export interface MysqlCase {
  v: string;
  sql: string;
  /** The expected rewritten text; omitted: unchanged (byte for byte). */
  out?: string;
  /** The result column names the client must see. */
  cols?: string[];
  /** Run with the binary protocol (COM_STMT_PREPARE / EXECUTE) and these values. */
  params?: unknown[];
  /** The translator must refuse it, with this kind. */
  refused?: TranslationErrorKind;
  /** The session's sql_mode additions the text is written for (and run under). */
  sqlMode?: 'ANSI_QUOTES' | 'NO_BACKSLASH_ESCAPES';
  /** False: checked as text only (syntax MariaDB does not run, or a refusal the reference cannot show). */
  run?: false;
}

const NEW_USERS = '`id`, `name` AS `full_name`, `email`, `Nick Name`, `bio`, `_shiftgate_new_age` AS `age`';
const NEW_USER_NAMES = ['id', 'full_name', 'email', 'Nick Name', 'bio', 'age'];
const V2_USERS = '`id`, `name`, `email`, `age`, `legacy`, `Nick Name`';
/** `a`, `b` AS `c` -> `q`.`a`, `q`.`b` AS `c` */
const qualified = (q: string, cols: string) =>
  cols
    .split(', ')
    .map((c) => `\`${q}\`.${c}`)
    .join(', ');

export const MYSQL_CASES: MysqlCase[] = [
  // ---- pass-through ----------------------------------------------------------------------
  { v: V3, sql: 'SELECT id, sku FROM order_items WHERE qty > 1', cols: ['id', 'sku'] },
  { v: V3, sql: 'SELECT 1 AS one', cols: ['one'] },
  { v: V2, sql: 'SELECT * FROM orders ORDER BY id', cols: ['id', 'user_id', 'total', 'note'] },
  { v: V3, sql: 'SELECT count(*) FROM users WHERE bio IS NULL', cols: ['count(*)'] },
  { v: V3, sql: 'WITH users AS (SELECT 1 AS full_name) SELECT full_name FROM users', cols: ['full_name'] },
  { v: V3, sql: "INSERT INTO tags (user_id, label) VALUES (1, 'x')" },
  { v: V3, sql: 'SELECT id, email FROM users WHERE id = ?', params: [1], cols: ['id', 'email'] },
  { v: V1, sql: 'SELECT name, email FROM users ORDER BY name', cols: ['name', 'email'] },
  {
    v: V3,
    sql: 'SELECT `Nick Name` FROM users WHERE `nick name` IS NOT NULL ORDER BY id',
    cols: ['Nick Name'],
  },

  // ---- SELECT *: the version's visible columns ---------------------------------------------
  { v: V3, sql: 'SELECT * FROM users', out: `SELECT ${NEW_USERS} FROM users`, cols: NEW_USER_NAMES },
  { v: V2, sql: 'SELECT * FROM users', out: `SELECT ${V2_USERS} FROM users` },
  {
    v: V1,
    sql: 'SELECT * FROM users WHERE id = ?',
    out: 'SELECT `id`, `name`, `email`, `age`, `legacy` FROM users WHERE id = ?',
    params: [2],
    cols: ['id', 'name', 'email', 'age', 'legacy'],
  },
  {
    v: V0,
    sql: 'SELECT id, name, mail, age, legacy FROM users ORDER BY id',
    out: 'SELECT id, name, `email` AS `mail`, age, legacy FROM users ORDER BY id',
    cols: ['id', 'name', 'mail', 'age', 'legacy'],
  },
  // `*` would include a column a completed migration dropped: no version can be served it.
  { v: V0, sql: 'SELECT * FROM users ORDER BY id', refused: 'unsupported' },
  {
    v: V3,
    sql: 'SELECT u.* FROM users AS u',
    out: `SELECT ${qualified('u', NEW_USERS)} FROM users AS u`,
    cols: NEW_USER_NAMES,
  },
  { v: V3, sql: 'SELECT * FROM purchases', out: 'SELECT * FROM `orders` AS `purchases`' },
  { v: V3, sql: 'SELECT p.* FROM purchases p', out: 'SELECT p.* FROM `orders` p' },
  {
    v: V3,
    sql: 'SELECT *, 1 AS one FROM users WHERE id = 1',
    out: `SELECT ${NEW_USERS}, 1 AS one FROM users WHERE id = 1`,
    cols: [...NEW_USER_NAMES, 'one'],
  },
  {
    v: V3,
    sql: 'SELECT * FROM users u JOIN purchases p ON p.user_id = u.id ORDER BY p.id',
    out: `SELECT ${qualified('u', NEW_USERS)}, \`p\`.\`id\`, \`p\`.\`user_id\`, \`p\`.\`total\`, \`p\`.\`note\` FROM users u JOIN \`orders\` p ON p.user_id = u.id ORDER BY p.id`,
    cols: [...NEW_USER_NAMES, 'id', 'user_id', 'total', 'note'],
  },
  {
    v: V3,
    sql: 'SELECT * FROM (SELECT full_name FROM users) AS s ORDER BY full_name',
    out: 'SELECT * FROM (SELECT `name` AS `full_name` FROM users) AS s ORDER BY full_name',
    cols: ['full_name'],
  },
  {
    v: V2,
    sql: 'SELECT `users`.* FROM `users` WHERE `id` = 2',
    out: `SELECT ${qualified('users', V2_USERS)} FROM \`users\` WHERE \`id\` = 2`,
  },
  {
    v: V3,
    sql: 'WITH c AS (SELECT * FROM users) SELECT c.full_name, c.age FROM c ORDER BY c.id',
    out: `WITH c AS (SELECT ${NEW_USERS} FROM users) SELECT c.full_name, c.age FROM c ORDER BY c.id`,
    cols: ['full_name', 'age'],
  },
  {
    v: V3,
    sql: 'SELECT t.*, u.* FROM tags t JOIN users u ON u.id = t.user_id',
    out: `SELECT t.*, ${qualified('u', NEW_USERS)} FROM tags t JOIN users u ON u.id = t.user_id`,
  },

  // ---- renamed and shadow columns -------------------------------------------------------------
  {
    v: V3,
    sql: 'SELECT full_name FROM users WHERE id = 1',
    out: 'SELECT `name` AS `full_name` FROM users WHERE id = 1',
    cols: ['full_name'],
  },
  {
    v: V3,
    sql: 'SELECT FULL_NAME FROM users WHERE id = 1',
    out: 'SELECT `name` AS `FULL_NAME` FROM users WHERE id = 1',
    cols: ['FULL_NAME'],
  },
  {
    v: V3,
    sql: 'SELECT u.full_name, u.age FROM users u ORDER BY u.age DESC',
    out: 'SELECT u.`name` AS `full_name`, u.`_shiftgate_new_age` AS `age` FROM users u ORDER BY u.`_shiftgate_new_age` DESC',
    cols: ['full_name', 'age'],
  },
  {
    v: V3,
    sql: "SELECT id FROM users WHERE full_name = 'Bob'",
    out: "SELECT id FROM users WHERE `name` = 'Bob'",
  },
  {
    v: V3,
    sql: 'SELECT full_name AS n FROM users ORDER BY n',
    out: 'SELECT `name` AS n FROM users ORDER BY n',
    cols: ['n'],
  },
  {
    v: V3,
    sql: 'SELECT `full_name`, age * 2 AS double_age FROM users ORDER BY id',
    out: 'SELECT `name` AS `full_name`, `_shiftgate_new_age` * 2 AS double_age FROM users ORDER BY id',
    cols: ['full_name', 'double_age'],
  },
  {
    v: V3,
    sql: 'SELECT full_name, age + 1 FROM users ORDER BY full_name',
    out: 'SELECT `name` AS `full_name`, `_shiftgate_new_age` + 1 AS `age + 1` FROM users ORDER BY full_name',
    cols: ['full_name', 'age + 1'],
  },
  {
    v: V0,
    sql: "SELECT mail FROM users WHERE mail LIKE 'a%'",
    out: "SELECT `email` AS `mail` FROM users WHERE `email` LIKE 'a%'",
    cols: ['mail'],
  },
  {
    v: V3,
    sql: 'SELECT age, count(*) FROM users GROUP BY age ORDER BY age',
    out: 'SELECT `_shiftgate_new_age` AS `age`, count(*) FROM users GROUP BY `_shiftgate_new_age` ORDER BY age',
    cols: ['age', 'count(*)'],
  },
  {
    v: V3,
    sql: 'SELECT full_name FROM users GROUP BY full_name HAVING count(*) >= 1 ORDER BY full_name',
    out: 'SELECT `name` AS `full_name` FROM users GROUP BY `name` HAVING count(*) >= 1 ORDER BY full_name',
  },
  {
    v: V3,
    sql: 'SELECT id FROM users WHERE age > 20 AND full_name <> ? ORDER BY age',
    out: 'SELECT id FROM users WHERE `_shiftgate_new_age` > 20 AND `name` <> ? ORDER BY `_shiftgate_new_age`',
    params: ['x'],
  },
  {
    v: V3,
    sql: "SELECT id FROM users WHERE FULL_NAME = 'Alice'",
    out: "SELECT id FROM users WHERE `name` = 'Alice'",
  },
  {
    v: V3,
    sql: 'SELECT users.full_name FROM users WHERE users.id = 1',
    out: 'SELECT users.`name` AS `full_name` FROM users WHERE users.id = 1',
    cols: ['full_name'],
  },
  {
    v: V3,
    sql: "SELECT id, CASE WHEN age >= 18 THEN 'adult' ELSE 'minor' END AS kind FROM users ORDER BY id",
    out: "SELECT id, CASE WHEN `_shiftgate_new_age` >= 18 THEN 'adult' ELSE 'minor' END AS kind FROM users ORDER BY id",
  },
  {
    v: V3,
    sql: 'SELECT COALESCE(bio, full_name) AS b, CAST(age AS CHAR) AS a FROM users ORDER BY id',
    out: 'SELECT COALESCE(bio, `name`) AS b, CAST(`_shiftgate_new_age` AS CHAR) AS a FROM users ORDER BY id',
  },
  {
    v: V3,
    sql: 'SELECT full_name COLLATE utf8mb4_bin AS n FROM users WHERE id = 2',
    out: 'SELECT `name` COLLATE utf8mb4_bin AS n FROM users WHERE id = 2',
  },
  {
    v: V3,
    sql: 'SELECT id, row_number() OVER (PARTITION BY age > 20 ORDER BY full_name) AS r FROM users ORDER BY id',
    out: 'SELECT id, row_number() OVER (PARTITION BY `_shiftgate_new_age` > 20 ORDER BY `name`) AS r FROM users ORDER BY id',
  },

  // ---- output names that a rewritten reference would capture ------------------------------------
  {
    v: V3,
    sql: 'SELECT bio AS name FROM users ORDER BY full_name',
    out: 'SELECT bio AS name FROM users ORDER BY `users`.`name`',
    cols: ['name'],
  },
  {
    v: V3,
    sql: 'SELECT email AS name, count(*) FROM users GROUP BY full_name, email ORDER BY email',
    out: 'SELECT email AS name, count(*) FROM users GROUP BY `users`.`name`, email ORDER BY email',
  },
  {
    v: V3,
    sql: 'SELECT full_name FROM users, (SELECT 1 AS name) AS x',
    out: 'SELECT `users`.`name` AS `full_name` FROM users, (SELECT 1 AS name) AS x',
    cols: ['full_name'],
  },
  { v: V3, sql: 'SELECT bio AS full_name FROM users GROUP BY full_name', refused: 'unsupported' },

  // ---- qualification, subqueries, CTEs, UNION ----------------------------------------------------
  {
    v: V3,
    sql: 'SELECT {db}.users.full_name FROM {db}.users WHERE id = 1',
    out: 'SELECT {db}.users.`name` AS `full_name` FROM {db}.users WHERE id = 1',
    cols: ['full_name'],
  },
  {
    v: V3,
    sql: 'SELECT {db}.purchases.total FROM {db}.purchases WHERE {db}.purchases.id = 1',
    out: 'SELECT `purchases`.total AS `total` FROM {db}.`orders` AS `purchases` WHERE `purchases`.id = 1',
    cols: ['total'],
  },
  {
    v: V3,
    sql: 'SELECT id FROM users WHERE id IN (SELECT user_id FROM purchases WHERE total > 6)',
    out: 'SELECT id FROM users WHERE id IN (SELECT user_id FROM `orders` AS `purchases` WHERE total > 6)',
  },
  {
    v: V3,
    sql: 'SELECT (SELECT max(total) FROM purchases p WHERE p.user_id = u.id) AS top, u.full_name FROM users u ORDER BY u.id',
    out: 'SELECT (SELECT max(total) FROM `orders` p WHERE p.user_id = u.id) AS top, u.`name` AS `full_name` FROM users u ORDER BY u.id',
    cols: ['top', 'full_name'],
  },
  {
    v: V3,
    sql: "SELECT id FROM users u WHERE EXISTS (SELECT 1 FROM tags t WHERE t.user_id = u.id AND full_name = 'Alice')",
    out: "SELECT id FROM users u WHERE EXISTS (SELECT 1 FROM tags t WHERE t.user_id = u.id AND `name` = 'Alice')",
  },
  {
    v: V3,
    sql: 'SELECT x.n FROM (SELECT full_name AS n FROM users) x ORDER BY x.n',
    out: 'SELECT x.n FROM (SELECT `name` AS n FROM users) x ORDER BY x.n',
  },
  {
    v: V3,
    sql: 'WITH c AS (SELECT id, full_name FROM users WHERE age > 20) SELECT full_name FROM c ORDER BY id',
    out: 'WITH c AS (SELECT id, `name` AS `full_name` FROM users WHERE `_shiftgate_new_age` > 20) SELECT full_name FROM c ORDER BY id',
    cols: ['full_name'],
  },
  {
    v: V3,
    sql: 'SELECT full_name FROM users UNION ALL SELECT label FROM tags ORDER BY full_name',
    out: 'SELECT `name` AS `full_name` FROM users UNION ALL SELECT label FROM tags ORDER BY full_name',
    cols: ['full_name'],
  },
  {
    v: V3,
    sql: '(SELECT full_name FROM users WHERE id = 1) UNION (SELECT full_name FROM users WHERE id = 2) ORDER BY full_name',
    out: '(SELECT `name` AS `full_name` FROM users WHERE id = 1) UNION (SELECT `name` AS `full_name` FROM users WHERE id = 2) ORDER BY full_name',
  },

  // ---- renamed table ----------------------------------------------------------------------------
  {
    v: V3,
    sql: 'SELECT total FROM purchases WHERE id = 2',
    out: 'SELECT total FROM `orders` AS `purchases` WHERE id = 2',
  },
  {
    v: V3,
    sql: 'SELECT purchases.total FROM purchases ORDER BY purchases.id',
    out: 'SELECT purchases.total FROM `orders` AS `purchases` ORDER BY purchases.id',
  },
  {
    v: V3,
    sql: 'SELECT u.full_name, p.total FROM users u JOIN purchases p ON p.user_id = u.id ORDER BY p.id',
    out: 'SELECT u.`name` AS `full_name`, p.total FROM users u JOIN `orders` p ON p.user_id = u.id ORDER BY p.id',
  },
  {
    v: V3,
    sql: 'SELECT count(*) FROM purchases, users WHERE purchases.user_id = users.id',
    out: 'SELECT count(*) FROM `orders` AS `purchases`, users WHERE purchases.user_id = users.id',
  },
  {
    v: V3,
    sql: "UPDATE purchases SET note = 'paid' WHERE id = 2",
    out: "UPDATE `orders` AS `purchases` SET note = 'paid' WHERE id = 2",
  },
  {
    v: V3,
    sql: 'DELETE FROM purchases WHERE purchases.id = 3',
    out: 'DELETE FROM `orders` WHERE `orders`.id = 3',
  },
  {
    v: V3,
    sql: 'INSERT INTO purchases (user_id, total) VALUES (2, 7.5)',
    out: 'INSERT INTO `orders` (user_id, total) VALUES (2, 7.5)',
  },
  { v: V3, sql: 'SELECT * FROM orders', refused: 'undefined_table' },
  { v: V2, sql: 'SELECT * FROM tags', refused: 'undefined_table' },

  // ---- INSERT, REPLACE, ON DUPLICATE KEY UPDATE ------------------------------------------------
  {
    v: V3,
    sql: "INSERT INTO users (full_name, email, age) VALUES ('Zoe', 'z@example.com', 22)",
    out: "INSERT INTO users (`name`, email, `_shiftgate_new_age`) VALUES ('Zoe', 'z@example.com', 22)",
  },
  {
    v: V3,
    sql: "INSERT INTO users VALUES (NULL, 'Zed', 'zed@example.com', 'Z', 'bio', 50)",
    out: "INSERT INTO users (`id`, `name`, `email`, `Nick Name`, `bio`, `_shiftgate_new_age`) VALUES (NULL, 'Zed', 'zed@example.com', 'Z', 'bio', 50)",
  },
  {
    v: V2,
    sql: "INSERT INTO users VALUES (NULL, 'Old', 'o@example.com', 60, 'x', 'O')",
    out: `INSERT INTO users (${V2_USERS}) VALUES (NULL, 'Old', 'o@example.com', 60, 'x', 'O')`,
  },
  {
    v: V0,
    sql: "INSERT INTO users (name, mail) VALUES ('M', 'm@example.com')",
    out: "INSERT INTO users (name, `email`) VALUES ('M', 'm@example.com')",
  },
  {
    v: V3,
    sql: "INSERT INTO users SET full_name = 'Set', age = 3",
    out: "INSERT INTO users SET `name` = 'Set', `_shiftgate_new_age` = 3",
  },
  {
    v: V3,
    sql: 'INSERT INTO users (full_name, email) VALUES (?, ?)',
    out: 'INSERT INTO users (`name`, email) VALUES (?, ?)',
    params: ['Prepared', 'p@example.com'],
  },
  {
    v: V3,
    sql: "INSERT INTO users (full_name, email) VALUES ('Alice', 'new@example.com') ON DUPLICATE KEY UPDATE email = VALUES(email), age = age + 1",
    out: "INSERT INTO users (`name`, email) VALUES ('Alice', 'new@example.com') ON DUPLICATE KEY UPDATE email = VALUES(email), `_shiftgate_new_age` = `_shiftgate_new_age` + 1",
  },
  {
    v: V3,
    sql: "INSERT INTO users (full_name) VALUES ('Bob') ON DUPLICATE KEY UPDATE full_name = CONCAT(VALUES(full_name), '!')",
    out: "INSERT INTO users (`name`) VALUES ('Bob') ON DUPLICATE KEY UPDATE `name` = CONCAT(VALUES(`name`), '!')",
  },
  {
    v: V0,
    sql: "INSERT INTO users (name, mail) VALUES ('Bob', 'b2@example.com') ON DUPLICATE KEY UPDATE mail = VALUES(mail)",
    out: "INSERT INTO users (name, `email`) VALUES ('Bob', 'b2@example.com') ON DUPLICATE KEY UPDATE `email` = VALUES(`email`)",
  },
  {
    // The row alias of MySQL 8.0.19 (MariaDB has none): checked as text.
    v: V3,
    sql: "INSERT INTO users (full_name, age) VALUES ('Bob', 5) AS new ON DUPLICATE KEY UPDATE age = new.age",
    out: "INSERT INTO users (`name`, `_shiftgate_new_age`) VALUES ('Bob', 5) AS new ON DUPLICATE KEY UPDATE `_shiftgate_new_age` = new.`_shiftgate_new_age`",
    run: false,
  },
  {
    v: V3,
    sql: "REPLACE INTO users (id, full_name, email) VALUES (2, 'Robert', 'r@example.com')",
    out: "REPLACE INTO users (id, `name`, email) VALUES (2, 'Robert', 'r@example.com')",
  },
  {
    v: V2,
    sql: "REPLACE INTO users VALUES (2, 'Bobby', 'b@example.com', 18, '', NULL)",
    out: `REPLACE INTO users (${V2_USERS}) VALUES (2, 'Bobby', 'b@example.com', 18, '', NULL)`,
  },
  {
    v: V3,
    sql: 'INSERT INTO tags (user_id, label) SELECT id, full_name FROM users WHERE age > 20',
    out: 'INSERT INTO tags (user_id, label) SELECT id, `name` AS `full_name` FROM users WHERE `_shiftgate_new_age` > 20',
  },
  {
    v: V3,
    sql: 'INSERT INTO purchases SELECT NULL, id, 1.00, full_name FROM users WHERE id = 3',
    out: 'INSERT INTO `orders` SELECT NULL, id, 1.00, `name` AS `full_name` FROM users WHERE id = 3',
  },
  {
    v: V3,
    sql: "INSERT INTO users SELECT NULL, CONCAT(full_name, '2'), email, NULL, NULL, age FROM users WHERE id = 1",
    out: "INSERT INTO users (`id`, `name`, `email`, `Nick Name`, `bio`, `_shiftgate_new_age`) SELECT NULL, CONCAT(`name`, '2') AS `CONCAT(full_name, '2')`, email, NULL, NULL, `_shiftgate_new_age` AS `age` FROM users WHERE id = 1",
  },
  { v: V2, sql: "INSERT INTO users (name, bio) VALUES ('x', 'y')", refused: 'undefined_column' },
  { v: V1, sql: "INSERT INTO users (name, `Nick Name`) VALUES ('x', 'y')", refused: 'undefined_column' },

  // ---- UPDATE, DELETE, single and multi-table ---------------------------------------------------
  {
    v: V3,
    sql: "UPDATE users SET full_name = 'Bobby', age = age + 1 WHERE id = 2",
    out: "UPDATE users SET `name` = 'Bobby', `_shiftgate_new_age` = `_shiftgate_new_age` + 1 WHERE id = 2",
  },
  {
    v: V3,
    sql: 'UPDATE users SET age = ? WHERE full_name = ?',
    out: 'UPDATE users SET `_shiftgate_new_age` = ? WHERE `name` = ?',
    params: [33, 'Alice'],
  },
  {
    v: V3,
    sql: 'UPDATE users u, purchases p SET p.note = u.full_name WHERE p.user_id = u.id AND u.id = 1',
    out: 'UPDATE users u, `orders` p SET p.note = u.`name` WHERE p.user_id = u.id AND u.id = 1',
  },
  {
    v: V3,
    sql: 'UPDATE users, purchases SET purchases.note = users.email WHERE purchases.user_id = users.id',
    out: 'UPDATE users, `orders` AS `purchases` SET purchases.note = users.email WHERE purchases.user_id = users.id',
  },
  {
    v: V0,
    sql: "UPDATE users SET mail = CONCAT(mail, '.old') WHERE name = 'Bob'",
    out: "UPDATE users SET `email` = CONCAT(`email`, '.old') WHERE name = 'Bob'",
  },
  {
    v: V3,
    sql: "UPDATE users SET bio = 'hi' ORDER BY age DESC LIMIT 1",
    out: "UPDATE users SET bio = 'hi' ORDER BY `_shiftgate_new_age` DESC LIMIT 1",
  },
  // UPDATE ... JOIN: the parser reads only `UPDATE t, u`; the references are read as a FROM clause.
  {
    v: V3,
    sql: "UPDATE users u JOIN tags t ON t.user_id = u.id SET u.age = u.age + 1 WHERE t.label = 'vip'",
    out: "UPDATE users u JOIN tags t ON t.user_id = u.id SET u.`_shiftgate_new_age` = u.`_shiftgate_new_age` + 1 WHERE t.label = 'vip'",
  },
  {
    v: V3,
    sql: "UPDATE users JOIN tags ON tags.user_id = users.id SET full_name = CONCAT(label, '!'), age = age + 1 WHERE label = 'vip'",
    out: "UPDATE users JOIN tags ON tags.user_id = users.id SET `name` = CONCAT(label, '!'), `_shiftgate_new_age` = `_shiftgate_new_age` + 1 WHERE label = 'vip'",
  },
  {
    v: V3,
    sql: 'UPDATE purchases p INNER JOIN users u ON u.id = p.user_id SET p.note = u.full_name WHERE u.id = 1',
    out: 'UPDATE `orders` p INNER JOIN users u ON u.id = p.user_id SET p.note = u.`name` WHERE u.id = 1',
  },
  {
    v: V3,
    sql: 'UPDATE users\n  JOIN purchases ON purchases.user_id = users.id\nSET purchases.note = full_name',
    out: 'UPDATE users\n  JOIN `orders` AS `purchases` ON purchases.user_id = users.id\nSET purchases.note = `name`',
  },
  {
    v: V3,
    sql: "UPDATE LOW_PRIORITY users u LEFT JOIN (SELECT user_id, MAX(total) AS top FROM purchases GROUP BY user_id) m ON m.user_id = u.id SET u.bio = CONCAT(u.full_name, ':', COALESCE(m.top, 0))",
    out: "UPDATE LOW_PRIORITY users u LEFT JOIN (SELECT user_id, MAX(total) AS top FROM `orders` AS `purchases` GROUP BY user_id) m ON m.user_id = u.id SET u.bio = CONCAT(u.`name`, ':', COALESCE(m.top, 0))",
  },
  {
    v: V3,
    sql: 'UPDATE users u STRAIGHT_JOIN purchases p ON p.user_id = u.id SET u.age = ? WHERE p.id = ?',
    out: 'UPDATE users u STRAIGHT_JOIN `orders` p ON p.user_id = u.id SET u.`_shiftgate_new_age` = ? WHERE p.id = ?',
    params: [41, 1],
  },
  {
    v: V3,
    sql: "UPDATE /* hi */ (users u JOIN tags t ON t.user_id = u.id) SET u.full_name = CONCAT(u.full_name, ';') WHERE u.id = 2; SELECT full_name FROM users WHERE id = 2",
    out: "UPDATE /* hi */ (users u JOIN tags t ON t.user_id = u.id) SET u.`name` = CONCAT(u.`name`, ';') WHERE u.id = 2; SELECT `name` AS `full_name` FROM users WHERE id = 2",
  },
  {
    v: V3,
    sql: 'UPDATE "users" AS "u" JOIN "purchases" AS "p" ON "p"."user_id" = "u"."id" SET "p"."note" = "u"."full_name"',
    out: 'UPDATE "users" AS "u" JOIN `orders` AS "p" ON "p"."user_id" = "u"."id" SET "p"."note" = "u".`name`',
    sqlMode: 'ANSI_QUOTES',
  },
  {
    v: V0,
    sql: "UPDATE users JOIN users AS other ON other.id = users.id SET users.mail = CONCAT(other.mail, '.x') WHERE users.name = 'Bob'",
    out: "UPDATE users JOIN users AS other ON other.id = users.id SET users.`email` = CONCAT(other.`email`, '.x') WHERE users.name = 'Bob'",
  },
  {
    v: V3,
    sql: "DELETE FROM users WHERE full_name = 'Bob'",
    out: "DELETE FROM users WHERE `name` = 'Bob'",
  },
  {
    v: V3,
    sql: 'DELETE FROM users WHERE age > 40 ORDER BY age LIMIT 1',
    out: 'DELETE FROM users WHERE `_shiftgate_new_age` > 40 ORDER BY `_shiftgate_new_age` LIMIT 1',
  },
  {
    v: V3,
    sql: "DELETE p FROM purchases p JOIN users u ON u.id = p.user_id WHERE u.full_name = 'Bob'",
    out: "DELETE p FROM `orders` p JOIN users u ON u.id = p.user_id WHERE u.`name` = 'Bob'",
  },
  {
    v: V3,
    sql: 'DELETE purchases FROM purchases JOIN users ON users.id = purchases.user_id WHERE users.age < 18',
    out: 'DELETE purchases FROM `orders` AS `purchases` JOIN users ON users.id = purchases.user_id WHERE users.`_shiftgate_new_age` < 18',
  },
  {
    v: V3,
    sql: "DELETE FROM purchases USING purchases JOIN users ON users.id = purchases.user_id WHERE users.full_name = 'Alice'",
    out: "DELETE FROM purchases USING `orders` AS `purchases` JOIN users ON users.id = purchases.user_id WHERE users.`name` = 'Alice'",
  },

  // ---- several statements in one text ------------------------------------------------------------
  {
    v: V3,
    sql: 'SELECT full_name FROM users WHERE id = 1; SELECT total FROM purchases WHERE id = 1',
    out: 'SELECT `name` AS `full_name` FROM users WHERE id = 1; SELECT total FROM `orders` AS `purchases` WHERE id = 1',
  },
  {
    v: V3,
    sql: 'UPDATE users SET age = 40 WHERE id = 1; SELECT age FROM users WHERE id = 1;',
    out: 'UPDATE users SET `_shiftgate_new_age` = 40 WHERE id = 1; SELECT `_shiftgate_new_age` AS `age` FROM users WHERE id = 1;',
  },
  {
    v: V3,
    sql: 'SELECT 1; SELECT * FROM users WHERE id = 3',
    out: `SELECT 1; SELECT ${NEW_USERS} FROM users WHERE id = 3`,
  },

  // ---- quoting, comments, sql_mode ----------------------------------------------------------------
  {
    v: V3,
    sql: 'SELECT `full_name` /* the name */, `age` FROM `users` -- trailing\nWHERE `id` = 1',
    out: 'SELECT `name` AS `full_name` /* the name */, `_shiftgate_new_age` AS `age` FROM `users` -- trailing\nWHERE `id` = 1',
    cols: ['full_name', 'age'],
  },
  {
    v: V3,
    sql: 'SELECT /*+ MAX_EXECUTION_TIME(1000) */ full_name FROM users # hash comment\nWHERE id = 1',
    out: 'SELECT /*+ MAX_EXECUTION_TIME(1000) */ `name` AS `full_name` FROM users # hash comment\nWHERE id = 1',
  },
  {
    v: V3,
    sql: 'SELECT "full_name" FROM "users" WHERE "id" = 1',
    out: 'SELECT `name` AS `full_name` FROM "users" WHERE "id" = 1',
    cols: ['full_name'],
    sqlMode: 'ANSI_QUOTES',
  },
  {
    v: V3,
    sql: 'SELECT "u"."full_name" FROM "purchases" AS "p" JOIN users AS "u" ON "u"."id" = "p"."user_id" ORDER BY "p"."id"',
    out: 'SELECT "u".`name` AS `full_name` FROM `orders` AS "p" JOIN users AS "u" ON "u"."id" = "p"."user_id" ORDER BY "p"."id"',
    sqlMode: 'ANSI_QUOTES',
  },
  {
    v: V3,
    sql: "SELECT full_name FROM users WHERE email <> 'a\\' AND id = 1",
    out: "SELECT `name` AS `full_name` FROM users WHERE email <> 'a\\' AND id = 1",
    sqlMode: 'NO_BACKSLASH_ESCAPES',
  },
  {
    v: V3,
    sql: "SELECT full_name FROM users WHERE email <> 'it\\'s' AND id = 1",
    out: "SELECT `name` AS `full_name` FROM users WHERE email <> 'it\\'s' AND id = 1",
  },
  {
    v: V3,
    sql: "SELECT 'ßü✓', full_name FROM users WHERE id = 3",
    out: "SELECT 'ßü✓', `name` AS `full_name` FROM users WHERE id = 3",
    cols: ['ßü✓', 'full_name'],
  },

  // ---- MySQL clauses the parser lacks, which name no column ----------------------------------------
  {
    v: V3,
    sql: 'SELECT full_name FROM users FORCE INDEX (users_name_key) WHERE id = 1',
    out: 'SELECT `name` AS `full_name` FROM users FORCE INDEX (users_name_key) WHERE id = 1',
  },
  {
    v: V3,
    sql: 'SELECT p.total FROM purchases p USE INDEX FOR ORDER BY (`PRIMARY`) ORDER BY p.id',
    out: 'SELECT p.total FROM `orders` p USE INDEX FOR ORDER BY (`PRIMARY`) ORDER BY p.id',
  },
  {
    v: V3,
    sql: "SELECT GROUP_CONCAT(full_name ORDER BY age DESC SEPARATOR '; ') AS names FROM users",
    out: "SELECT GROUP_CONCAT(`name` ORDER BY `_shiftgate_new_age` DESC SEPARATOR '; ') AS names FROM users",
  },

  // ---- refusals ---------------------------------------------------------------------------------
  { v: V3, sql: 'SELECT legacy FROM users', refused: 'undefined_column' },
  { v: V2, sql: 'SELECT bio FROM users', refused: 'undefined_column' },
  { v: V2, sql: 'SELECT u.bio FROM users u', refused: 'undefined_column' },
  { v: V3, sql: 'SELECT full_name FROM users u JOIN users v ON v.id = u.id', refused: 'ambiguous_column' },
  { v: V3, sql: 'SELECT * FROM users JOIN tags USING (id)', refused: 'unsupported' },
  { v: V3, sql: 'SELECT * FROM users NATURAL JOIN tags', refused: 'unsupported' },
  { v: V3, sql: 'SELECT a.id FROM users a JOIN users b USING (full_name)', refused: 'unsupported' },
  {
    v: V3,
    sql: 'SELECT full_name FROM users, information_schema.CHARACTER_SETS cs LIMIT 1',
    refused: 'unsupported',
  },
  { v: V3, sql: 'SELECT /*!99999 full_name, */ id FROM users WHERE id = 1', refused: 'unsupported' },
  // UPDATE ... JOIN with an unknown column, a USING on a renamed one, a syntax error: refused.
  {
    v: V3,
    sql: "UPDATE users u JOIN tags t ON t.user_id = u.id SET u.legacy = 'x'",
    refused: 'undefined_column',
  },
  { v: V3, sql: "UPDATE users a JOIN users b USING (full_name) SET a.bio = 'x'", refused: 'unsupported' },
  { v: V3, sql: 'UPDATE users JOIN tags ON SET bio = label', refused: 'syntax_error', run: false },
  { v: V3, sql: 'SHOW COLUMNS FROM users', refused: 'unsupported' },
  { v: V3, sql: 'SHOW CREATE TABLE purchases', refused: 'unsupported' },
  { v: V3, sql: 'EXPLAIN SELECT full_name FROM users', refused: 'unsupported' },
  { v: V3, sql: 'SELECT 1; SELECT legacy FROM users', refused: 'undefined_column' },
  // The rest of the text would be read under another sql_mode, or in another database.
  {
    v: V3,
    sql: 'SET sql_mode = \'ANSI_QUOTES\'; SELECT "full_name" FROM users',
    refused: 'unsupported',
    run: false,
  },
  { v: V3, sql: 'USE mysql; SELECT full_name FROM users', refused: 'unsupported', run: false },
  // Dropped by a completed migration: no version can be served it (the reference leaves it out).
  { v: V0, sql: 'SELECT fax FROM users', refused: 'unsupported', run: false },
  {
    v: V3,
    sql: 'SELECT "full""name" FROM users',
    refused: 'unsupported',
    sqlMode: 'ANSI_QUOTES',
    run: false,
  },
];
