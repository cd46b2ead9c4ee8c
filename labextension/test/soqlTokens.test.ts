import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  findMagicQueries,
  MAX_HIGHLIGHT_LENGTH,
  SoqlDialect,
  tokenizeCell,
  tokenizeSoql
} from '../src/soqlTokens';

/** `[text, kind]` of every token, for readable expectations. */
function kinds(text: string, dialect: SoqlDialect = 'soql'): [string, string][] {
  return tokenizeSoql(text, dialect).map(t => [text.slice(t.from, t.to), t.kind]);
}

function ofKind(text: string, kind: string, dialect: SoqlDialect = 'soql'): string[] {
  return kinds(text, dialect)
    .filter(([, k]) => k === kind)
    .map(([t]) => t);
}

describe('tokenizeSoql', () => {
  it('marks keywords in any case, and leaves object and field names alone', () => {
    const text = 'select Id, Name from Account where Industry = null ORDER BY Name desc NULLS LAST';
    assert.deepEqual(ofKind(text, 'keyword'), [
      'select',
      'from',
      'where',
      'ORDER',
      'BY',
      'desc',
      'NULLS',
      'LAST'
    ]);
    assert.deepEqual(ofKind(text, 'atom'), ['null']);
    const marked = tokenizeSoql(text).map(t => text.slice(t.from, t.to));
    for (const name of ['Id', 'Name', 'Account', 'Industry']) {
      assert.ok(!marked.includes(name), name);
    }
  });

  it('never paints a path segment or a relationship as a keyword', () => {
    // `Group`, `Order` and `Data` are objects too; `Owner.Group.Name` is a path.
    const text = 'SELECT Owner.Group.Name, Order.Data FROM Group';
    assert.deepEqual(ofKind(text, 'keyword'), ['SELECT', 'FROM', 'Group']);
  });

  it('marks functions only before a parenthesis', () => {
    const text = 'SELECT COUNT(Id), count (Name), toLabel(Status), Max FROM Case GROUP BY Max';
    assert.deepEqual(ofKind(text, 'function'), ['COUNT', 'count', 'toLabel']);
  });

  it('marks FIELDS(ALL) and its argument', () => {
    const text = 'SELECT FIELDS(STANDARD) FROM Account LIMIT 200';
    assert.deepEqual(kinds(text).slice(0, 5), [
      ['SELECT', 'keyword'],
      ['FIELDS', 'function'],
      ['(', 'punctuation'],
      ['STANDARD', 'keyword'],
      [')', 'punctuation']
    ]);
    assert.deepEqual(ofKind(text, 'number'), ['200']);
  });

  it('reads strings whole, with escapes, and nothing inside them', () => {
    const text = "WHERE Name = 'O\\'Brien: :not a bind FROM' AND City LIKE 'San%'";
    assert.deepEqual(ofKind(text, 'string'), ["'O\\'Brien: :not a bind FROM'", "'San%'"]);
    assert.deepEqual(ofKind(text, 'bind'), []);
    assert.deepEqual(ofKind(text, 'keyword'), ['WHERE', 'AND', 'LIKE']);
  });

  it('ends an unterminated string at the line end', () => {
    const text = "WHERE Name = 'open\nAND Id != null";
    assert.deepEqual(ofKind(text, 'string'), ["'open"]);
    assert.deepEqual(ofKind(text, 'keyword'), ['WHERE', 'AND']);
  });

  it('marks :name placeholders as the kernel binds them, not LAST_N_DAYS:30', () => {
    const text = 'WHERE AnnualRevenue > :threshold AND Id IN :ids AND CreatedDate = LAST_N_DAYS:30';
    assert.deepEqual(ofKind(text, 'bind'), [':threshold', ':ids']);
    assert.deepEqual(ofKind(text, 'atom'), ['LAST_N_DAYS:30']);
  });

  it('marks date literals, booleans and numbers, signed ones too', () => {
    const text =
      'WHERE CreatedDate > 2024-01-31T12:00:00Z AND CloseDate = TODAY AND IsWon = true ' +
      'AND Amount >= -1500.50 AND Probability < .5 AND Birthdate = 1990-02-03 AND Id != N_DAYS_AGO:7';
    assert.deepEqual(ofKind(text, 'number'), [
      '2024-01-31T12:00:00Z',
      '-1500.50',
      '.5',
      '1990-02-03'
    ]);
    assert.deepEqual(ofKind(text, 'atom'), ['TODAY', 'true', 'N_DAYS_AGO:7']);
  });

  it('marks operators', () => {
    assert.deepEqual(ofKind('a = 1 AND b != 2 AND c <> 3 AND d <= 4 AND e >= 5 AND f < 6', 'operator'), [
      '=',
      '!=',
      '<>',
      '<=',
      '>=',
      '<'
    ]);
  });

  it('reads subqueries, TYPEOF and WITH', () => {
    const text =
      'SELECT Id, (SELECT LastName FROM Contacts), TYPEOF What WHEN Account THEN Phone ELSE Name END ' +
      'FROM Event WITH SECURITY_ENFORCED';
    assert.deepEqual(ofKind(text, 'keyword'), [
      'SELECT',
      'SELECT',
      'FROM',
      'TYPEOF',
      'WHEN',
      'THEN',
      'ELSE',
      'END',
      'FROM',
      'WITH',
      'SECURITY_ENFORCED'
    ]);
  });

  it('reads SOSL: the search term, search groups and RETURNING', () => {
    const text = "FIND {Acme*} IN NAME FIELDS RETURNING Account(Name, Phone WHERE Name != 'x'), Contact";
    assert.deepEqual(ofKind(text, 'string', 'sosl'), ['{Acme*}', "'x'"]);
    assert.deepEqual(ofKind(text, 'keyword', 'sosl'), ['FIND', 'IN', 'NAME', 'FIELDS', 'RETURNING', 'WHERE']);
    // In SOQL, FIND and RETURNING are plain words.
    assert.deepEqual(ofKind('SELECT Find FROM Returning', 'keyword'), ['SELECT', 'FROM']);
  });

  it('gives offsets of the whole text for a slice', () => {
    const text = 'xx SELECT Id FROM A yy';
    const tokens = tokenizeSoql(text, 'soql', 3, 19);
    assert.deepEqual(
      tokens.map(t => [t.from, t.to, t.kind]),
      [
        [3, 9, 'keyword'],
        [13, 17, 'keyword']
      ]
    );
  });
});

describe('findMagicQueries', () => {
  it('finds a %%soql cell body after the magic line and its options', () => {
    const cell = '%%soql -c prod -o big\nSELECT Id\nFROM Account';
    const [query] = findMagicQueries(cell);
    assert.equal(query.dialect, 'soql');
    assert.equal(cell.slice(query.magicFrom, query.magicTo), '%%soql');
    assert.equal(cell.slice(query.from, query.to), 'SELECT Id\nFROM Account');
  });

  it('finds %%sosl cells', () => {
    const [query] = findMagicQueries('%%sosl\nFIND {x}');
    assert.equal(query.dialect, 'sosl');
  });

  it('needs the cell magic on the first line, as IPython does', () => {
    assert.deepEqual(findMagicQueries('x = 1\n%%soql\nSELECT Id FROM Account'), []);
    assert.deepEqual(findMagicQueries('%%soqlx\nSELECT Id FROM Account'), []);
    assert.deepEqual(findMagicQueries('print("%%soql")'), []);
  });

  it('finds %soql line magics, after their options', () => {
    const cell = 'n = %soql -c prod SELECT COUNT() FROM Contact\n%soql --all SELECT Id FROM Lead\nx = 5 % soql';
    const queries = findMagicQueries(cell).map(q => cell.slice(q.from, q.to));
    assert.deepEqual(queries, ['SELECT COUNT() FROM Contact', 'SELECT Id FROM Lead']);
  });
});

describe('tokenizeCell', () => {
  it('marks the magic word and the query, and nothing in a plain Python cell', () => {
    const cell = '%%soql\nSELECT Name FROM Account WHERE Id = :account_id';
    const marked = tokenizeCell(cell).map(t => [cell.slice(t.from, t.to), t.kind]);
    assert.deepEqual(marked, [
      ['%%soql', 'magic'],
      ['SELECT', 'keyword'],
      ['FROM', 'keyword'],
      ['WHERE', 'keyword'],
      ['=', 'operator'],
      [':account_id', 'bind']
    ]);
    assert.deepEqual(tokenizeCell('select = 1\nprint(select, "FROM")'), []);
  });

  it('leaves a huge cell alone', () => {
    const cell = '%%soql\n' + 'SELECT Id FROM Account '.repeat(MAX_HIGHLIGHT_LENGTH / 10);
    assert.deepEqual(tokenizeCell(cell), []);
  });
});
