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
 *   parser tries; at a letter, a digit or a quote it still tried a space, a
 *   newline and five kinds of comment, and after the one space between two
 *   words, all of them again. Whitespace and comments can only start with
 *   one of SPACE, TAB, CR, LF, `-`, `/` or `#`. Where the next character
 *   is none of them, or a run of spaces and tabs is followed by none of
 *   them (and spaces are not asked for, `includeSpaces`), the rule now
 *   answers at once what it answered before: an empty list, at the same
 *   position, with the same failure record for the error message. That
 *   knowledge is the grammar's, so the fast path is applied only while
 *   what it summarises is what was read for it (`WHITESPACE_RULES_SHA256`
 *   over the rules' text, their constants and actions, and the library's
 *   whitespace filter); another release of the library parses without it,
 *   and test/translate/cst-parser.test.ts fails until it is read again.
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
export const WHITESPACE_RULES_SHA256 = '09dd760250dbc74180398462a571bd32ec1088ceab9d827edb9c62a4454d6ffe';

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

/** The text of the generated `function peg$parseNAME() {`, up to the next function declaration. */
function ruleText(source: string, rule: string): string | null {
  const start = source.indexOf(`function peg$parse${rule}() {`);
  if (start < 0) return null;
  const next = source.indexOf('function peg$', start + 1);
  return source.slice(start, next < 0 ? source.length : next);
}

/** The declaration of `name` (`var peg$xN = ...`), up to the next one; actions span lines. */
function declarationText(source: string, name: string): string | null {
  const at = source.indexOf(`var ${name} = `);
  if (at < 0) return null;
  const next = source.indexOf('var peg$', at + 1);
  return source.slice(at, next < 0 ? source.length : next);
}

/**
 * The text the fast path's knowledge rests on: the whitespace rules'
 * functions, the declarations of the constants and actions they use, and
 * `whitespaceFilter` (the library's parserState.js, whose
 * isEnabledWhitespace decides which whitespace the rule keeps).
 */
function whitespaceRulesText(source: string, whitespaceFilter: string): string | null {
  const parts: string[] = [];
  const declared = new Set<string>();
  for (const rule of WHITESPACE_RULES) {
    const text = ruleText(source, rule);
    if (text === null) return null;
    parts.push(text);
    for (const m of text.matchAll(/peg\$[cref]\d+/g)) declared.add(m[0]);
  }
  for (const name of [...declared].sort()) {
    const text = declarationText(source, name);
    if (text === null) return null;
    parts.push(text);
  }
  parts.push(whitespaceFilter);
  return parts.join('\n');
}

function whitespaceRulesHash(source: string, whitespaceFilter: string): string | null {
  const text = whitespaceRulesText(source, whitespaceFilter);
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
 * `factoryStart`) with the fast paths that apply to it; `whitespaceFilter`
 * is the library's parserState.js (see `whitespaceRulesText`).
 */
export function withFastPaths(source: string, factoryStart: string, whitespaceFilter: string): FastPaths {
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

  const whitespace = whitespaceRulesHash(source, whitespaceFilter) === WHITESPACE_RULES_SHA256;
  if (whitespace) {
    const head = /(function peg\$parse__\(\) \{\n(?:[ \t]*\/\/.*\n)*[ \t]*var s0, s1, s2;\n)/;
    const noStart = (v: string) => WHITESPACE_STARTS.map((c) => `${v} !== ${c}`).join(' && ');
    const replaced = out.replace(
      head,
      `$1        var peg$start = peg$currPos;
        var peg$end = peg$start;
        if (!options.includeSpaces) {
            while (input.charCodeAt(peg$end) === 32 || input.charCodeAt(peg$end) === 9) peg$end++;
        }
        var peg$next = input.charCodeAt(peg$end);
        if (${noStart('peg$next')}) {
            peg$currPos = peg$end;
            peg$savedPos = peg$start;
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
