/**
 * The relays' byte-level test for words in a statement, before they decode
 * its text: ASCII letters in either case, every other byte exactly.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mentions } from '../../src/proxy/mentions.ts';

describe('mentions', () => {
  it('finds a word in any ASCII case, within the range only', () => {
    const b = Buffer.from('\x03SELECT 1; Kill QUERY 7');
    assert.equal(mentions(b, 1, b.length, ['kill']), true);
    assert.equal(mentions(b, 1, 14, ['kill']), false, 'the word runs past the end');
    assert.equal(mentions(b, 1, b.length, ['use', 'prepare']), false);
  });

  it('matches a word with an underscore, and an underscore only as itself', () => {
    const set = Buffer.from("SET SESSION SQL_MODE = 'ANSI_QUOTES'");
    assert.equal(mentions(set, 0, set.length, ['sql_mode']), true);
    // 0x7F is what '_' | 0x20 gives: folding it like a letter would take DEL for an underscore.
    const del = Buffer.from('SET sql\x7fmode = 1');
    assert.equal(mentions(del, 0, del.length, ['sql_mode']), false);
  });

  it('does not fold bytes of multi-byte UTF-8 characters into ASCII letters', () => {
    // U+212A KELVIN SIGN is no 'k' to a /kill/i RegExp either.
    const b = Buffer.from('SELECT \u212aill');
    assert.equal(mentions(b, 0, b.length, ['kill']), false);
  });
});
