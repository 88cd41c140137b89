/**
 * Masks secrets in SQL text before it is stored or shown: a raw `sql`
 * operation may run `CREATE ROLE ... PASSWORD '...'` or `CREATE USER ...
 * IDENTIFIED BY '...'`, and its statement ends up in error messages, which
 * reach the log, the state tables and SHOW SHIFTGATE MIGRATIONS.
 *
 * It errs on the side of masking: an unterminated literal is masked to the
 * end of the text, and a literal whose escaping it reads differently from
 * the server (a PostgreSQL string ending in a backslash) is masked up to the
 * next quote it finds.
 *
 * @example
 * redactSecrets("CREATE ROLE app PASSWORD 's3cret'")  // CREATE ROLE app PASSWORD '***'
 * redactSecrets("ALTER USER 'a'@'%' IDENTIFIED BY 'x'") // ALTER USER 'a'@'%' IDENTIFIED BY '***'
 */

/** A string literal of either dialect: '...', E'...', "...", $tag$...$tag$; open-ended when unterminated. */
const LITERAL = String.raw`(?:[eE]?'(?:[^'\\]|\\[\s\S]|'')*(?:'|$)|"(?:[^"\\]|\\[\s\S]|"")*(?:"|$)|\$(?<tag>[A-Za-z_][A-Za-z0-9_]*)?\$[\s\S]*?(?:\$\k<tag>\$|$))`;

const PATTERNS: RegExp[] = [
  // PostgreSQL [ENCRYPTED] PASSWORD '...', user mapping OPTIONS (password '...'), MySQL SET PASSWORD = '...',
  // PASSWORD('...'), MASTER_PASSWORD = '...', IDENTIFIED BY PASSWORD '...'.
  new RegExp(String.raw`(PASSWORD\s*(?:=\s*|\(\s*)?)${LITERAL}`, 'gi'),
  // MySQL / MariaDB IDENTIFIED [WITH plugin] BY|AS '...', MariaDB IDENTIFIED VIA plugin USING '...'.
  new RegExp(String.raw`(IDENTIFIED\s+(?:(?:WITH|VIA)\s+\S+\s+)?(?:BY|AS|USING)\s+)${LITERAL}`, 'gi'),
];

/** Connection strings inside literals (CREATE SUBSCRIPTION ... CONNECTION, dblink): password=... and URL user info. */
const CONNINFO = /(\bpassword\s*=\s*)(?!')[^\s'"]+/gi;
const URL_USERINFO = /([a-z][a-z0-9+.-]*:\/\/[^:/@\s'"]*:)[^@\s'"]*@/gi;

export function redactSecrets(text: string): string {
  let out = text;
  for (const re of PATTERNS) out = out.replace(re, (_m, keyword: string) => `${keyword}'***'`);
  out = out.replace(CONNINFO, (_m, keyword: string) => `${keyword}***`);
  return out.replace(URL_USERINFO, (_m, head: string) => `${head}***@`);
}
