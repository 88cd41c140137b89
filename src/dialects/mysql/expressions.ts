/**
 * Column references in the user's SQL expressions (`up`, `down`, checks,
 * index keys) replaced by other SQL, for MySQL / MariaDB text: a trigger
 * reads the written row as `NEW.col`, a copied index names the shadow column.
 *
 * NOTE: a lexer, not a parser: string literals (with backslash escapes),
 * comments, function names (`x(`), qualified names (`a.x`) and `@variables`
 * are left alone, which is exact for the column references of the
 * expressions it is used for.
 */

/** Every column name `sql` refers to (lower-cased unless backquoted). */
export function referencedColumns(sql: string): Set<string> {
  const found = new Set<string>();
  replaceColumns(sql, (name) => {
    found.add(name);
    return null;
  });
  return found;
}

/**
 * Replaces each column reference for which `replace` answers text; names
 * are given lower-cased (MySQL column names are case-insensitive) unless
 * they were backquoted.
 */
export function replaceColumns(sql: string, replace: (name: string) => string | null): string {
  let out = '';
  let i = 0;
  let prev = '';
  const n = sql.length;
  while (i < n) {
    const ch = sql[i]!;
    if (ch === "'" || ch === '"') {
      let j = i + 1;
      while (j < n) {
        if (sql[j] === '\\') j += 2;
        else if (sql[j] === ch && sql[j + 1] === ch) j += 2;
        else if (sql[j] === ch) break;
        else j++;
      }
      out += sql.slice(i, j + 1);
      i = j + 1;
      prev = "'";
      continue;
    }
    if ((ch === '-' && sql[i + 1] === '-') || ch === '#') {
      const end = sql.indexOf('\n', i);
      const stop = end < 0 ? n : end;
      out += sql.slice(i, stop);
      i = stop;
      continue;
    }
    if (ch === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      const stop = end < 0 ? n : end + 2;
      out += sql.slice(i, stop);
      i = stop;
      continue;
    }
    if (ch === '@') {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_$@.]/.test(sql[j]!)) j++;
      out += sql.slice(i, j);
      i = j;
      prev = 'var';
      continue;
    }
    if (ch === '`' || /[A-Za-z_\u0080-\uffff]/.test(ch)) {
      let name: string;
      let j: number;
      if (ch === '`') {
        j = i + 1;
        name = '';
        while (j < n) {
          if (sql[j] === '`' && sql[j + 1] === '`') {
            name += '`';
            j += 2;
          } else if (sql[j] === '`') break;
          else name += sql[j++];
        }
        j++;
      } else {
        j = i;
        while (j < n && /[A-Za-z0-9_$\u0080-\uffff]/.test(sql[j]!)) j++;
        name = sql.slice(i, j).toLowerCase();
      }
      const rest = sql.slice(j).trimStart();
      const isCall = ch !== '`' && rest.startsWith('(');
      const isQualifier = rest.startsWith('.');
      const afterDot = prev === '.';
      const replacement = !isCall && !isQualifier && !afterDot ? replace(name) : null;
      out += replacement ?? sql.slice(i, j);
      i = j;
      prev = 'id';
      continue;
    }
    if (!/\s/.test(ch)) prev = ch;
    out += ch;
    i++;
  }
  return out;
}
