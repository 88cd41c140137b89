/**
 * Two exact rewrites of sql-parser-cst's generated (Peggy) parser where a
 * translation cache miss spends its time, applied with the built-once
 * transform (cst-parser.ts) when the module loads:
 *
 * - **Literal tests without substrings.** Peggy tests a keyword as
 *   `input.substr(peg$currPos, N).toLowerCase() === peg$cK` and a literal
 *   as `input.substr(peg$currPos, N) === peg$cK`: a new string (two for a
 *   keyword) at each of the thousands of tests a statement takes. The
 *   literal becomes `input.startsWith(peg$cK, peg$currPos)`, the keyword a
 *   comparison of character codes that gives the original expression's
 *   answer: ASCII letters are lowered as toLowerCase lowers them, and at
 *   the first other character (the Kelvin sign lowers to `k`) it runs the
 *   original expression itself. Only where the constant has N characters
 *   (and, for keywords, is lowercase ASCII), so the two are the same test.
 * - **No whitespace, fast.** The `__` rule (optional whitespace and
 *   comments) runs between every two tokens and at every alternative the
 *   parser tries; where the next character is a letter, a digit or a
 *   quote, it still tried a space, a newline and five kinds of comment.
 *   Whitespace and comments can only start with one of SPACE, TAB, CR, LF,
 *   `-`, `/` or `#`: elsewhere the rule now answers at once what it
 *   answered before, an empty list, with the same failure record for the
 *   error message. That knowledge is the grammar's, so the fast path is
 *   applied only while the rules it summarises are the ones read for it
 *   (`WHITESPACE_RULES_SHA256` over their text and constants); another
 *   release of the library parses without it, and
 *   test/translate/cst-parser.test.ts fails until it is read again.
 *
 * test/translate/cst-parser.test.ts compares this parser's trees and
 * syntax errors with the library's own over a few hundred texts.
 */
import { createHash } from 'node:crypto';

export interface FastPaths {
  source: string;
  /** Literal and keyword tests rewritten. */
  literalTests: number;
  /** The whitespace rule's fast path is in. */
  whitespace: boolean;
}

/** The rules `__` can match, in the text `whitespaceRulesText` reads: sql-parser-cst 0.42.1's. */
export const WHITESPACE_RULES_SHA256 = 'bb45b3b16f1d4f0faf4166f3d5dc8fd6a04d3f477c7610a0ff5f88d8aaaebf4f';

/** The characters whitespace or a comment can start with (see the file comment). */
const WHITESPACE_STARTS = [32, 9, 13, 10, 45, 47, 35];

const WHITESPACE_RULES = [
  '__',
  'space',
  'newline',
  'comment',
  'line_comment',
  'conditional_comment',
  'conditional_comment_start',
  'pound_sign_comment',
  'block_comment',
  'nested_block_comment',
];

/** Where each `function peg$parseNAME() {` of the generated source starts and ends. */
function ruleText(source: string, rule: string): string | null {
  const start = source.indexOf(`function peg$parse${rule}() {`);
  if (start < 0) return null;
  const next = source.indexOf('function peg$', start + 1);
  return source.slice(start, next < 0 ? source.length : next);
}

/**
 * The text the fast path's knowledge rests on: the whitespace rules'
 * functions and the declarations of the constants they test with.
 */
export function whitespaceRulesText(source: string): string | null {
  const parts: string[] = [];
  const constants = new Set<string>();
  for (const rule of WHITESPACE_RULES) {
    const text = ruleText(source, rule);
    if (text === null) return null;
    parts.push(text);
    for (const m of text.matchAll(/peg\$[cre]\d+/g)) constants.add(m[0]);
  }
  for (const name of [...constants].sort()) {
    const at = source.indexOf(`var ${name} = `);
    if (at < 0) return null;
    parts.push(source.slice(at, source.indexOf('\n', at)));
  }
  return parts.join('\n');
}

export function whitespaceRulesHash(source: string): string | null {
  const text = whitespaceRulesText(source);
  return text === null ? null : createHash('sha256').update(text).digest('hex');
}

/** The string constants of the generated source (`var peg$cK = "...";`), by name. */
function stringConstants(source: string): Map<string, string> {
  const constants = new Map<string, string>();
  for (const m of source.matchAll(/^ *var (peg\$c\d+) = ("(?:[^"\\\n]|\\.)*");$/gm)) {
    constants.set(m[1]!, JSON.parse(m[2]!) as string);
  }
  return constants;
}

const isLowercaseAscii = (s: string) => /^[\x00-\x40\x5b-\x7f]*$/.test(s);

/**
 * The keyword test's replacement, declared in the built-once factory
 * (`factoryStart`), which reads `input` and `peg$currPos` from its scope.
 */
const KEYWORD_TEST = `
    function peg$keywordAt(keyword) {
        var n = keyword.length;
        if (peg$currPos + n > input.length) return input.substr(peg$currPos, n).toLowerCase() === keyword;
        for (var i = 0; i < n; i++) {
            var c = input.charCodeAt(peg$currPos + i);
            if (c >= 128) return input.substr(peg$currPos, n).toLowerCase() === keyword;
            if (c >= 65 && c <= 90) c += 32;
            if (c !== keyword.charCodeAt(i)) return false;
        }
        return true;
    }`;

/**
 * `source` (the built-once parser, whose factory starts with the line
 * `factoryStart`) with the fast paths that apply to it.
 */
export function withFastPaths(source: string, factoryStart: string): FastPaths {
  const constants = stringConstants(source);
  let literalTests = 0;
  let out = source.replace(
    /input\.substr\(peg\$currPos, (\d+)\)(\.toLowerCase\(\))? === (peg\$c\d+)\)/g,
    (original, length: string, lowered: string | undefined, name: string) => {
      const literal = constants.get(name);
      if (literal === undefined || literal.length !== Number(length)) return original;
      if (lowered !== undefined && !isLowercaseAscii(literal)) return original;
      literalTests++;
      return lowered === undefined ? `input.startsWith(${name}, peg$currPos))` : `peg$keywordAt(${name}))`;
    },
  );
  if (literalTests > 0) {
    const at = out.indexOf(factoryStart);
    if (at < 0) return { source, literalTests: 0, whitespace: false };
    const end = at + factoryStart.length;
    out = `${out.slice(0, end)}${KEYWORD_TEST}${out.slice(end)}`;
  }

  const whitespace = whitespaceRulesHash(source) === WHITESPACE_RULES_SHA256;
  if (whitespace) {
    const head = /(function peg\$parse__\(\) \{\n(?:[ \t]*\/\/.*\n)*[ \t]*var s0, s1, s2;\n)/;
    const condition = WHITESPACE_STARTS.map((c) => `peg$next !== ${c}`).join(' && ');
    const replaced = out.replace(
      head,
      `$1        var peg$next = input.charCodeAt(peg$currPos);
        if (${condition}) {
            peg$savedPos = peg$currPos;
            if (peg$silentFails === 0) peg$fail(peg$e102);
            return [];
        }
`,
    );
    if (replaced === out) return { source: out, literalTests, whitespace: false };
    out = replaced;
  }
  return { source: out, literalTests, whitespace };
}
