/** The memo of quoted identifiers stays bounded whatever names clients choose. */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { quotedIdentCacheSize, quoteIdent } from '../../src/dialects/postgres/translate/ident.ts';
import { loadPgParser, PgTranslator } from '../../src/dialects/postgres/translate/index.ts';
import { buildVersionMap } from '../../src/versions/index.ts';
import { V3 } from './cases.ts';
import { HISTORY } from './fixture.ts';
import { FIXTURE_PHYSICAL } from './physical.ts';

describe('quoted-identifier memo', () => {
  before(async () => {
    await loadPgParser();
  });

  test('client-chosen aliases on a migrating table do not grow it without bound', () => {
    // A small plan cache, so the plans themselves cannot be what holds memory here.
    const t = new PgTranslator(buildVersionMap(FIXTURE_PHYSICAL, HISTORY), { maxEntries: 16 });
    // `alias.*` on a table whose columns differ is expanded with the alias quoted before each column.
    const first = t.translate(V3, 'SELECT "Alias0".* FROM users "Alias0"');
    assert.match(first.sql, /"Alias0"\.name AS full_name/);
    for (let i = 1; i < 20_000; i++) t.translate(V3, `SELECT "Alias${i}".* FROM users "Alias${i}"`);
    const size = quotedIdentCacheSize();
    assert.ok(size <= 4096, `memo holds ${size} names after 20 000 distinct aliases`);
  });

  test('answers stay exact for names it has forgotten and seen again', () => {
    for (let i = 0; i < 10_000; i++) quoteIdent(`n${i}`);
    assert.equal(quoteIdent('Name'), '"Name"');
    assert.equal(quoteIdent('order'), '"order"');
    assert.equal(quoteIdent('full_name'), 'full_name');
    assert.equal(quoteIdent('we"ird'), '"we""ird"');
    assert.equal(quoteIdent('n0'), 'n0');
  });
});
