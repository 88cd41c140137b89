/**
 * The parameter types a statement's executions bound: clients such as
 * libmariadb send them once and then execute with new-params-bound 0, so a
 * statement the proxy prepares anew gets them spliced into the execution
 * that first runs on it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  canBindParamTypes,
  noteParamTypes,
  type PreparedTranslation,
  withParamTypes,
} from '../../src/dialects/mysql/prepared-translations.ts';

/** A COM_STMT_EXECUTE payload of statement 7 with two parameters (NULL bitmap one byte). */
function execute(types: number[] | null, values: number[]): Buffer {
  const head = [0x17, 7, 0, 0, 0, 0, 1, 0, 0, 0, 0];
  return Buffer.from([...head, types ? 1 : 0, ...(types ?? []), ...values]);
}

function entry(params: number): PreparedTranslation {
  return {
    original: 'SELECT ? + ?',
    sent: 'SELECT ? + ?',
    version: null,
    generation: 0,
    serverId: 7,
    params,
    longData: false,
    paramTypes: null,
  };
}

describe('parameter types of prepared executions', () => {
  const LONGLONG = [0x08, 0x00];
  const STRING = [0xfe, 0x00];

  it('an execution without types gets the ones an earlier execution sent, values untouched', () => {
    const e = entry(2);
    const bare = execute(null, [1, 2, 3]);
    assert.equal(withParamTypes(bare, e), null, 'none known yet: cannot run on a fresh statement');
    assert.equal(canBindParamTypes(bare, e), false);
    noteParamTypes(execute([...LONGLONG, ...STRING], [9]), e);
    assert.equal(canBindParamTypes(bare, e), true);
    assert.deepEqual(withParamTypes(bare, e), execute([...LONGLONG, ...STRING], [1, 2, 3]));
  });

  it('follows the last types sent, and leaves an execution that sends its own as it is', () => {
    const e = entry(2);
    noteParamTypes(execute([...LONGLONG, ...LONGLONG], []), e);
    const kept = e.paramTypes;
    noteParamTypes(execute([...LONGLONG, ...LONGLONG], [5]), e);
    assert.equal(e.paramTypes, kept, 'the same types are not copied again');
    noteParamTypes(execute([...STRING, ...LONGLONG], []), e);
    assert.deepEqual([...e.paramTypes!], [...STRING, ...LONGLONG]);
    const own = execute([...LONGLONG, ...STRING], [4]);
    assert.equal(withParamTypes(own, e), own);
  });

  it('a statement without parameters needs no types, and a cut payload is not read past its end', () => {
    const none = entry(0);
    const payload = Buffer.from([0x17, 7, 0, 0, 0, 0, 1, 0, 0, 0]);
    assert.equal(withParamTypes(payload, none), payload);
    const two = entry(2);
    noteParamTypes(Buffer.from([0x17, 7, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 8]), two);
    assert.equal(two.paramTypes, null);
    assert.equal(withParamTypes(payload, two), null);
  });
});
