/**
 * The router's prefilter run piece by piece finds what it finds in the
 * whole text, wherever the pieces are cut: inside a piece, across a seam,
 * across several pieces shorter than the word.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mayBeAdminCommand } from '../../src/admin/command.ts';
import { PiecewisePrefilter } from '../../src/proxy/statement-prefilter.ts';
import type { StatementRouter } from '../../src/proxy/statement-router.ts';

/** The production prefilter's byte test (the "iftg" of SHIFTGATE), nothing else. */
const router = {
  generation: 0,
  mayRoute: (bytes: Buffer, start: number, end: number) => mayBeAdminCommand(bytes, start, end),
} as unknown as StatementRouter;

function piecewise(text: Buffer, cuts: number[]): boolean {
  const filter = new PiecewisePrefilter(router);
  let from = 0;
  for (const cut of [...cuts, text.length]) {
    filter.feed(text.subarray(from, cut));
    from = cut;
  }
  return filter.mayRoute;
}

describe('PiecewisePrefilter', () => {
  const texts = [
    Buffer.from(`SELECT '${'x'.repeat(40)}' /* ShiftGate */ FROM t`),
    Buffer.from(`SELECT '${'x'.repeat(40)}' /* shift gate */ FROM t`),
    Buffer.from('SHIFTGATE'),
    Buffer.from('iftg'),
    Buffer.from('ift'),
    Buffer.from(''),
  ];

  test('agrees with the whole-text prefilter at every cut and pair of cuts', () => {
    for (const text of texts) {
      const whole = router.mayRoute(text, 0, text.length);
      assert.equal(piecewise(text, []), whole);
      for (let a = 0; a <= text.length; a++) {
        assert.equal(piecewise(text, [a]), whole, `${text} cut at ${a}`);
        for (let b = a; b <= text.length; b++) {
          assert.equal(piecewise(text, [a, b]), whole, `${text} cut at ${a}, ${b}`);
        }
      }
    }
  });

  test('finds the word spread over pieces of one byte', () => {
    for (const text of texts) {
      const cuts = Array.from({ length: text.length }, (_, i) => i);
      assert.equal(piecewise(text, cuts), router.mayRoute(text, 0, text.length), String(text));
    }
  });
});
