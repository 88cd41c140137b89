/**
 * The layering DESIGN.md section 6 draws, checked on the import statements of
 * src/: the migration engine and the version map sit at the bottom and never
 * reach up into the dialects, the proxy, the admin console or the CLI; the
 * wire codecs are pure and import only each other (and the protocol error
 * they throw); and no import circle exists anywhere.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = new URL('../..', import.meta.url).pathname;
const SRC = join(ROOT, 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

interface Import {
  target: string;
}

/** Relative imports of a file, resolved to paths under src/ (static, re-exports and dynamic). */
function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const out: Import[] = [];
  const statement = /^\s*(?:import|export)\s[^'";]*?from\s+'(\.[^']+)'/gm;
  for (const m of text.matchAll(statement)) {
    out.push({ target: resolve(dirname(file), m[1]!) });
  }
  for (const m of text.matchAll(/^\s*import\s+'(\.[^']+)'/gm)) {
    out.push({ target: resolve(dirname(file), m[1]!) });
  }
  for (const m of text.matchAll(/import\(\s*'(\.[^']+)'\s*\)/g)) {
    out.push({ target: resolve(dirname(file), m[1]!) });
  }
  return out;
}

const FILES = sources(SRC);
const rel = (p: string) => relative(SRC, p);
const under = (p: string, dir: string) => rel(p).startsWith(`${dir}/`);

const MYSQL_CODEC = ['framer', 'reader', 'messages', 'protocol', 'compression', 'response'].map(
  (f) => `dialects/mysql/${f}.ts`,
);
const isCodec = (p: string) => under(p, 'dialects/postgres/codec') || MYSQL_CODEC.includes(rel(p));
/** The one upward import a codec may make: the error class its decoders throw. */
const PROTOCOL_ERROR = 'proxy/protocol-error.ts';

test('the layering rules are checked on real imports (the checker sees them)', () => {
  const engine = FILES.find((f) => rel(f) === 'migrations/engine.ts')!;
  assert.ok(importsOf(engine).length > 5, 'imports are found');
  assert.ok(FILES.filter(isCodec).length >= 10, 'codec files are found');
});

test('migrations/ and versions/ import nothing above them', () => {
  const offending: string[] = [];
  for (const file of FILES.filter((f) => under(f, 'migrations') || under(f, 'versions'))) {
    for (const i of importsOf(file)) {
      if (!under(i.target, 'migrations') && !under(i.target, 'versions')) {
        offending.push(`${rel(file)} -> ${rel(i.target)}`);
      }
    }
  }
  assert.deepEqual(offending, []);
});

test('wire codecs import only codecs and the protocol error', () => {
  const offending: string[] = [];
  for (const file of FILES.filter(isCodec)) {
    for (const i of importsOf(file)) {
      if (!isCodec(i.target) && rel(i.target) !== PROTOCOL_ERROR)
        offending.push(`${rel(file)} -> ${rel(i.target)}`);
    }
  }
  assert.deepEqual(offending, []);
});

/** Every import circle of `graph` (file -> files it imports), each as `a -> b -> a`. */
function findCircles(graph: Map<string, string[]>): string[] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const circles: string[] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    stack.push(f);
    for (const t of graph.get(f) ?? []) {
      if (state.get(t) === 'open') circles.push([...stack.slice(stack.indexOf(t)), t].join(' -> '));
      else if (!state.has(t)) visit(t);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  return circles;
}

test('the circle finder finds a circle', () => {
  const graph = new Map([
    ['a', ['b']],
    ['b', ['c', 'd']],
    ['c', ['a']],
    ['d', []],
  ]);
  assert.deepEqual(findCircles(graph), ['a -> b -> c -> a']);
});

test('no import circle in src/, type imports included', () => {
  const graph = new Map(FILES.map((f) => [rel(f), importsOf(f).map((i) => rel(i.target))]));
  assert.deepEqual(findCircles(graph), []);
});
