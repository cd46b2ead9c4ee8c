import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { locateInCell, parseCaretBlock, soqlErrorMark } from '../src/soqlErrors';

// What the kernel's `render_error` (ak_salesforce_nb/kernel/_magic.py) prints for a
// query error, as `_render_traceback_` lines (copied from its output).
const INVALID_FIELD = [
  "SalesforceError (INVALID_FIELD): No such column 'Nme' on entity 'Account'.",
  '   1 | SELECT Id, Nme',
  '     |            ^'
];

describe('parseCaretBlock', () => {
  it('reads the row, the column, the printed line and the message', () => {
    const block = parseCaretBlock({
      ename: 'SalesforceError',
      evalue: 'x',
      traceback: INVALID_FIELD
    });
    assert.deepEqual(block, {
      row: 1,
      column: 11,
      line: 'SELECT Id, Nme',
      message: "SalesforceError (INVALID_FIELD): No such column 'Nme' on entity 'Account'."
    });
  });

  it('reads a traceback given as one string, with ANSI colors', () => {
    const block = parseCaretBlock({
      traceback: ['\u001b[0;31mSoqlParameterError: no variable x\u001b[0m\n  12 |   WHERE Id = :x\n     |              ^']
    });
    assert.equal(block?.row, 12);
    assert.equal(block?.column, 13);
    assert.equal(block?.message, 'SoqlParameterError: no variable x');
  });

  it('keeps tabs in the caret line as columns', () => {
    const block = parseCaretBlock({ traceback: ['E: bad', '   1 | \tSELECT Nme', '     | \t       ^'] });
    assert.equal(block?.column, 8);
  });

  it('finds nothing in a Python traceback or an error without a position', () => {
    const python = [
      '\u001b[0;31m---------------------------------------------------------------------------\u001b[0m',
      'Cell In[3], line 1',
      '----> 1 1/0',
      'ZeroDivisionError: division by zero'
    ];
    assert.equal(parseCaretBlock({ traceback: python }), null);
    assert.equal(parseCaretBlock({ traceback: ['SalesforceError (REQUEST_LIMIT_EXCEEDED): too many'] }), null);
    assert.equal(parseCaretBlock({}), null);
  });

  it('falls back to ename and evalue for the message', () => {
    const block = parseCaretBlock({
      ename: 'SalesforceError',
      evalue: 'bad',
      traceback: INVALID_FIELD.slice(1)
    });
    assert.equal(block?.message, 'SalesforceError: bad');
  });
});

describe('locateInCell', () => {
  it('maps row 1 of a %%soql cell to its second line, the whole word marked', () => {
    const cell = '%%soql -c prod\nSELECT Id, Nme\n  FROM Account';
    const mark = soqlErrorMark(cell, { traceback: INVALID_FIELD });
    assert.ok(mark);
    assert.equal(cell.slice(mark.from, mark.to), 'Nme');
    assert.equal(mark.message.startsWith('SalesforceError (INVALID_FIELD)'), true);
  });

  it('marks a later row, a dotted path, and a string', () => {
    const cell = "%%soql\nSELECT Id\n  FROM Account\n WHERE Owner.Nme = 'x' AND Name = 'a b'";
    const path = locateInCell(cell, { row: 3, column: 7, line: " WHERE Owner.Nme = 'x' AND Name = 'a b'", message: 'm' });
    assert.equal(path && cell.slice(path.from, path.to), 'Owner.Nme');
    const text = locateInCell(cell, { row: 3, column: 34, line: " WHERE Owner.Nme = 'x' AND Name = 'a b'", message: 'm' });
    assert.equal(text && cell.slice(text.from, text.to), "'a b'");
  });

  it('finds a %soql line magic by its printed line', () => {
    const cell = 'import pandas\nn = %soql -c prod SELECT COUNT() FORM Contact';
    const mark = locateInCell(cell, { row: 1, column: 15, line: 'SELECT COUNT() FORM Contact', message: 'm' });
    assert.equal(mark && cell.slice(mark.from, mark.to), 'FORM');
  });

  it('marks the last character for an error past the end of the line', () => {
    const cell = '%%soql\nSELECT Id FROM';
    const mark = locateInCell(cell, { row: 1, column: 14, line: 'SELECT Id FROM', message: 'm' });
    assert.equal(mark && cell.slice(mark.from, mark.to), 'M');
  });

  it('marks nothing once the cell no longer holds the line', () => {
    const cell = '%%soql\nSELECT Id, Name\nFROM Account';
    assert.equal(soqlErrorMark(cell, { traceback: INVALID_FIELD }), null);
  });
});
