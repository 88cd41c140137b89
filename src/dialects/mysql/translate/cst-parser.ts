/**
 * sql-parser-cst's `parse`, with its generated parser's tables built once.
 *
 * Why: the parser is Peggy output, and Peggy declares every rule function
 * (1,727 in 0.42), action (1,942), expectation object (759) and regular
 * expression inside `peg$parse`. Each call therefore allocates all of them
 * again before it reads a character: 115 us of the 160 us a point SELECT
 * took to parse, and most of a translation cache miss.
 *
 * `builtOnceParserSource` moves those declarations into a factory that runs
 * once. What a parse changes (input, options, position, failure record) is
 * reset at each call. The rule functions read it from the factory's scope,
 * as they read it from `peg$parse`'s before. The transform is applied when
 * the module loads, to the installed file; the package on disk is not
 * changed. If the file does not have the shape the transform expects (a
 * release of the library that Peggy generates differently), the library's
 * own `parse` is used instead: slower, same results.
 * test/translate/cst-parser.test.ts fails in that case, so an upgrade cannot
 * lose the speed unnoticed, and compares both parsers' trees.
 *
 * Parses are not re-entrant, as with the library itself: its node helpers
 * read the current position through module-level state.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { compileFunction } from 'node:vm';
import type { DialectName } from 'sql-parser-cst';
import { log } from '../../../proxy/log.ts';
import type { CstNode } from './cst.ts';
import { type FastPaths, withFastPaths } from './parser-fast-paths.ts';

/** What the translator parses with: the server flavour, and `?` as a parameter. */
export interface CstParseOptions {
  readonly dialect: DialectName;
  readonly paramTypes?: readonly string[];
}

interface PeggyParser {
  parse(sql: string, options: object): unknown;
  PeggySyntaxError: new (...args: never[]) => Error;
}

// import.meta is empty where this module is bundled to CommonJS (the crash tests' child); __filename is set there.
const requireHere = createRequire(import.meta.url ?? __filename);
const libraryDir = dirname(requireHere.resolve('sql-parser-cst'));
const parserPath = join(libraryDir, 'parser.js');
const requireFromLibrary = createRequire(parserPath);
const { FormattedSyntaxError } = requireFromLibrary('./FormattedSyntaxError.js') as {
  FormattedSyntaxError: new (e: Error, sql: string, filename?: string) => Error;
};

const FACTORY_START = 'function peg$buildParse() {';

const builtOnce = loadBuiltOnceParser();
const parser: PeggyParser = builtOnce?.parser ?? (requireFromLibrary('./parser.js') as PeggyParser);

/** True when parsing goes through the built-once parser (false: the library's own parse, see above). */
export const cstParserBuiltOnce = builtOnce !== null;

/** Which of parser-fast-paths.ts's rewrites the built-once parser has. */
export const cstParserFastPaths: Omit<FastPaths, 'source'> = {
  literalTests: builtOnce?.fastPaths.literalTests ?? 0,
  whitespace: builtOnce?.fastPaths.whitespace ?? false,
};

/** The statements of `sql` with source ranges, or a syntax error worded as sql-parser-cst words it. */
export function parseCstStatements(sql: string, options: CstParseOptions): CstNode[] {
  try {
    const program = parser.parse(sql, { ...options, includeRange: true }) as { statements: CstNode[] };
    return program.statements;
  } catch (e) {
    if (e instanceof parser.PeggySyntaxError) throw new FormattedSyntaxError(e, sql);
    throw e;
  }
}

function loadBuiltOnceParser(): { parser: PeggyParser; fastPaths: FastPaths } | null {
  const builtOnceSource = builtOnceParserSource(readFileSync(parserPath, 'utf8'));
  if (builtOnceSource === null) {
    log.warn(
      'sql-parser-cst: its generated parser has an unexpected shape; using its own parse (slower per miss)',
      {
        file: parserPath,
      },
    );
    return null;
  }
  const fastPaths = withFastPaths(builtOnceSource, FACTORY_START, whitespaceFilterSource());
  if (!fastPaths.whitespace) {
    log.warn(
      'sql-parser-cst: its whitespace rules are not the ones read for the fast path; parsing without it',
      {
        file: parserPath,
      },
    );
  }
  const module = { exports: {} as PeggyParser };
  const init = compileFunction(
    fastPaths.source,
    ['exports', 'require', 'module', '__filename', '__dirname'],
    {
      filename: parserPath,
    },
  );
  init(module.exports, requireFromLibrary, module, parserPath, libraryDir);
  return { parser: module.exports, fastPaths };
}

/** The library's parserState.js (its whitespace filter), or '' where a release has none: no fast path then. */
function whitespaceFilterSource(): string {
  try {
    return readFileSync(join(libraryDir, 'utils', 'parserState.js'), 'utf8');
  } catch {
    return '';
  }
}

/**
 * Peggy's generated `peg$parse(input, options) { ... }` rewritten as a
 * factory run once that returns the parse function, or null when the text
 * does not have the expected parts. The body's parts, in Peggy's order:
 * the options default, constants and actions (kept in the factory, except
 * `peg$source`, which reads the options), the per-parse state block and the
 * start-rule choice (moved into the returned function and run at each
 * call), the rule and helper functions (kept), then the grammar's per-parse
 * initializer and the run (moved). Lines are moved whole, never edited
 * inside, except the state declarations, which become resets.
 */
export function builtOnceParserSource(source: string): string | null {
  const lines = source.split('\n');
  const open = lines.findIndex((l) => /^( *)function peg\$parse\(input, options\) \{$/.test(l));
  if (open < 0) return null;
  const indent = lines[open]!.match(/^ */)![0];
  const body = `${indent}    `;
  const at = (text: string, from: number) => {
    for (let i = from; i < lines.length; i++) if (lines[i] === body + text) return i;
    return -1;
  };
  const optionsDefault = at('options = options !== undefined ? options : {};', open);
  const sourceLine = at('var peg$source = options.grammarSource;', open);
  const stateStart = at('var peg$currPos = 0;', open);
  const startRuleIf = at('if ("startRule" in options) {', stateStart);
  const startRuleEnd = at('}', startRuleIf);
  const run = at('peg$result = peg$startRuleFunction();', startRuleEnd);
  const close = lines.indexOf(`${indent}}`, run);
  if ([optionsDefault, sourceLine, stateStart, startRuleIf, startRuleEnd, run, close].some((i) => i < 0))
    return null;
  if (!(open < optionsDefault && optionsDefault < sourceLine && sourceLine < stateStart)) return null;
  // The per-parse initializer: the statements after the last function declaration, before the run.
  let initializer = run;
  while (initializer > startRuleEnd && lines[initializer - 1] !== `${body}}`) initializer--;
  if (initializer <= startRuleEnd + 1) return null;

  const defaultStart = lines
    .slice(sourceLine, stateStart)
    .map((l) => l.match(/^ *var peg\$startRuleFunction = (peg\$\w+);$/)?.[1])
    .find((name) => name !== undefined);
  if (defaultStart === undefined) return null;
  const state: string[] = [];
  const resets: string[] = [];
  for (const line of lines.slice(stateStart, startRuleIf)) {
    if (line.trim() === '' || line.trim().startsWith('//')) continue;
    const declared = line.startsWith(body)
      ? line.slice(body.length).match(/^var (peg\$\w+)(?: = (.*))?;$/)
      : null;
    if (!declared) return null;
    state.push(declared[1]!);
    resets.push(`${body}${declared[1]} = ${declared[2] ?? 'undefined'};`);
  }
  return [
    ...lines.slice(0, open),
    `${indent}${FACTORY_START}`,
    `${body}var input, options, peg$source, ${state.join(', ')};`,
    ...lines.slice(open + 1, optionsDefault),
    ...lines.slice(optionsDefault + 1, sourceLine),
    ...lines.slice(sourceLine + 1, stateStart),
    ...lines.slice(startRuleEnd + 1, initializer),
    `${body}return function peg$parse(input_, options_) {`,
    `${body}input = input_;`,
    `${body}options = options_ !== undefined ? options_ : {};`,
    `${body}peg$source = options.grammarSource;`,
    `${body}peg$startRuleFunction = ${defaultStart};`,
    ...resets,
    ...lines.slice(startRuleIf, startRuleEnd + 1),
    ...lines.slice(initializer, close),
    `${body}};`,
    `${indent}}`,
    `${indent}var peg$parse = peg$buildParse();`,
    ...lines.slice(close + 1),
  ].join('\n');
}
