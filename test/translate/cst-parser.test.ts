/**
 * The MySQL translator's parser is sql-parser-cst's generated parser with
 * its tables built once (src/dialects/mysql/translate/cst-parser.ts). It
 * must be in use with the installed release, and must give the same trees
 * and the same syntax errors as the library's own parse, whatever the calls
 * before it left behind (a failed parse, other options).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse as libraryParse } from 'sql-parser-cst';
import {
  builtOnceParserSource,
  type CstParseOptions,
  cstParserBuiltOnce,
  cstParserFastPaths,
  parseCstStatements,
} from '../../src/dialects/mysql/translate/cst-parser.ts';
import { withFastPaths } from '../../src/dialects/mysql/translate/parser-fast-paths.ts';
import { CASES } from './cases.ts';
import { MYSQL_CASES } from './mysql-cases.ts';

type Outcome = { tree: unknown } | { error: string };

function ours(sql: string, options: CstParseOptions): Outcome {
  try {
    return { tree: parseCstStatements(sql, options) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

function library(sql: string, options: CstParseOptions): Outcome {
  try {
    const program = libraryParse(sql, { ...options, includeRange: true } as Parameters<
      typeof libraryParse
    >[1]);
    return { tree: (program as unknown as { statements: unknown }).statements };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

const MARIADB: CstParseOptions = { dialect: 'mariadb', paramTypes: ['?'] };
const MYSQL: CstParseOptions = { dialect: 'mysql', paramTypes: ['?'] };

/** Texts that parse and texts that do not, MySQL's and PostgreSQL's, in one interleaved list. */
const TEXTS = [
  ...MYSQL_CASES.map((c) => c.sql),
  ...CASES.map((c) => c.sql),
  'SELECT 1; SELECT 2 /* two */; -- three',
  'SELEC x',
  'SELECT * FROM t WHERE a = ? AND b = ?',
  "INSERT INTO t (a) VALUES ('it''s'), (\"x\") ON DUPLICATE KEY UPDATE a = VALUES(a)",
  'SELECT * FROM t WHERE',
  'UPDATE t JOIN u ON u.id = t.id SET t.a = 1',
  // Whitespace and comments of every kind against tokens (the whitespace fast path), keywords in any case.
  'SeLeCt/*c*/a#x\nFROM--  y\r\n\tt WHERE/*!50000 a=1*/ AND b=2 /*M!100000 OR c */',
  'select a from t where a--1',
  'SELECT a FROM t WHERE a = 1 -- trailing',
  'SELECT a FROM t WHERE a = 1 #',
  'SELECT a FROM t /* unterminated',
  'SELECT 1 UNIO',
  'SELECT 1 UNION',
  // Characters toLowerCase maps across the ASCII line: the Kelvin sign lowers to k, the dotted capital I to two characters.
  'INSERT INTO t (a) VALUES (1) ON DUPLICATE \u212aEY UPDATE a = 2',
  'SELECT \u0130d FROM t',
  'SEL\u0130CT a FROM t',
  'SELECT a FROM t LIMIT 1 OFFSE',
  // Runs of spaces and tabs before what may start a comment, and before what does not.
  'SELECT a  -- c\n,\t\t# d\n b \t/* e */ FROM t WHERE a = 1 \t-1 AND b = 4  /2',
  'SELECT a \t\r\n  FROM t  \n WHERE a\t=\t- 1',
  'SELECT a FROM t WHERE a = 1  --',
  'SELECT a FROM t WHERE   ',
];

describe('the built-once sql-parser-cst parser', () => {
  test('is in use with the installed sql-parser-cst (an upgrade that changes the generated shape fails here)', () => {
    assert.equal(cstParserBuiltOnce, true);
  });

  test('gives the library parse’s trees and errors for every text, in both dialects, interleaved', () => {
    let errors = 0;
    let trees = 0;
    for (const sql of TEXTS) {
      for (const options of [MARIADB, MYSQL]) {
        const expected = library(sql, options);
        assert.deepEqual(ours(sql, options), expected, `${options.dialect}: ${sql}`);
        if ('error' in expected) errors++;
        else trees++;
      }
    }
    // Both kinds of outcome were compared, so a failed parse was followed by others.
    assert.ok(errors >= 20, `${errors} syntax errors compared`);
    assert.ok(trees >= 250, `${trees} trees compared`);
  });

  test('has its fast paths with the installed sql-parser-cst (an upgrade that changes the whitespace rules fails here)', () => {
    assert.equal(cstParserFastPaths.whitespace, true);
    assert.ok(
      cstParserFastPaths.literalTests > 500,
      `${cstParserFastPaths.literalTests} literal tests rewritten`,
    );
  });

  test('rewrites a literal or keyword test only where the constant is the tested length (and lowercase ASCII)', () => {
    const source = [
      'function peg$buildParse() {',
      '    var peg$c1 = "select";',
      '    var peg$c2 = "--";',
      '    var peg$c3 = "Mixed";',
      '    var peg$c4 = "abc";',
      '    a(input.substr(peg$currPos, 6).toLowerCase() === peg$c1);',
      '    b(input.substr(peg$currPos, 2) === peg$c2);',
      '    c(input.substr(peg$currPos, 5).toLowerCase() === peg$c3);',
      '    d(input.substr(peg$currPos, 4) === peg$c4);',
      '}',
    ].join('\n');
    const {
      source: out,
      literalTests,
      whitespace,
    } = withFastPaths(source, 'function peg$buildParse() {', '');
    assert.equal(literalTests, 2);
    assert.equal(whitespace, false, 'no whitespace rules to read');
    assert.ok(out.includes('a(peg$keywordAt(peg$c1));'));
    assert.ok(out.includes('b(input.startsWith(peg$c2, peg$currPos));'));
    assert.ok(out.includes('c(input.substr(peg$currPos, 5).toLowerCase() === peg$c3);'));
    assert.ok(out.includes('d(input.substr(peg$currPos, 4) === peg$c4);'));
    // The keyword test gives the original expression's answer, at the end of the input and past ASCII too.
    const keywordAt = new Function(
      'input',
      'peg$currPos',
      'keyword',
      `${out.slice(out.indexOf('function peg$keywordAt'), out.indexOf('var peg$c1'))}\nreturn peg$keywordAt(keyword);`,
    ) as (input: string, at: number, keyword: string) => boolean;
    const cases: [string, number, string][] = [
      ['SELECT 1', 0, 'select'],
      ['xSeLeCt', 1, 'select'],
      ['SELEC', 0, 'select'],
      ['SELECX', 0, 'select'],
      ['\u212aEY', 0, 'key'],
      ['\u0130D', 0, 'id'],
      ['[]', 0, '{}'],
      ['', 0, 'a'],
    ];
    for (const [input, at, keyword] of cases) {
      const original = input.substr(at, keyword.length).toLowerCase() === keyword;
      assert.equal(keywordAt(input, at, keyword), original, JSON.stringify([input, at, keyword]));
    }
  });

  test('reads each call’s own options, not the previous call’s', () => {
    assert.ok('tree' in ours('SELECT ?', MARIADB));
    const noParams = ours('SELECT ?', { dialect: 'mariadb' });
    assert.ok('error' in noParams, 'a ? without the ? parameter type is a syntax error');
    assert.deepEqual(noParams, library('SELECT ?', { dialect: 'mariadb' }));
    assert.ok('tree' in ours('SELECT ?', MARIADB));
  });

  test('starts each parse from the beginning after one that failed deep into its text', () => {
    const fresh = ours('SELECT a FROM t', MARIADB);
    assert.ok('error' in ours(`SELECT ${'(1 + '.repeat(40)} FROM t`, MARIADB));
    assert.deepEqual(ours('SELECT a FROM t', MARIADB), fresh);
    const error = ours('SELECT a FROM t WHERE', MARIADB);
    assert.ok('error' in error && error.error.includes('1:22'), JSON.stringify(error));
  });

  test('the transform resets the per-parse state at each call, and leaves a text without Peggy’s shape alone', () => {
    const peggyLike = [
      'function peg$parse(input, options) {',
      '    options = options !== undefined ? options : {};',
      '    var peg$source = options.grammarSource;',
      '    var peg$startRuleFunction = peg$parsestart;',
      '    var peg$currPos = 0;',
      '    var peg$result;',
      '    if ("startRule" in options) {',
      '    }',
      '    function peg$parsestart() {',
      '        peg$currPos++;',
      '        return input + peg$currPos;',
      '    }',
      '    peg$result = peg$startRuleFunction();',
      '    return peg$result;',
      '}',
    ].join('\n');
    const built = builtOnceParserSource(peggyLike);
    assert.ok(built !== null);
    const parse = new Function(`${built}\nreturn peg$parse;`)() as (input: string) => string;
    assert.equal(parse('first'), 'first1');
    assert.equal(parse('second'), 'second1');
    assert.equal(
      builtOnceParserSource(peggyLike.replace('if ("startRule" in options) {', 'if (true) {')),
      null,
    );
    assert.equal(builtOnceParserSource('function peg$parse(input, options) {\n  return 1;\n}\n'), null);
  });
});
