/**
 * A small tokenizer for SOQL and SOSL, shared by the notebook cell highlighter
 * (`%%soql` / `%%sosl` cells, whose language stays Python) and the `.soql` file
 * language. It has no dependency, so the unit tests run it in plain Node.
 *
 * It is a highlighter's tokenizer, not a parser: it never fails, it only says
 * which ranges of the text are keywords, functions, strings, numbers, date
 * literals, `:name` placeholders (bound from Python by the kernel), operators and
 * punctuation; everything else (object and field names) is left unmarked.
 */

/** What a token is; each kind has its CSS class (`aksf-soql-<kind>`). */
export type SoqlTokenKind =
  | 'keyword'
  | 'function'
  | 'string'
  | 'number'
  | 'atom'
  | 'bind'
  | 'operator'
  | 'punctuation'
  | 'magic';

/** A token: `[from, to)` are offsets in the text given to the tokenizer. */
export interface ISoqlToken {
  readonly from: number;
  readonly to: number;
  readonly kind: SoqlTokenKind;
}

/** The query dialect: SOSL adds `FIND … IN … FIELDS RETURNING …`. */
export type SoqlDialect = 'soql' | 'sosl';

/** Cells longer than this are not highlighted (a pasted data dump, not a query). */
export const MAX_HIGHLIGHT_LENGTH = 100_000;

const SOQL_KEYWORDS = new Set(
  (
    'SELECT FROM WHERE AND OR NOT IN INCLUDES EXCLUDES LIKE ORDER BY GROUP HAVING ' +
    'LIMIT OFFSET ASC DESC NULLS FIRST LAST WITH SECURITY_ENFORCED USER_MODE ' +
    'SYSTEM_MODE FOR VIEW REFERENCE UPDATE TRACKING VIEWSTAT ALL ROWS TYPEOF WHEN ' +
    'THEN ELSE END USING SCOPE ROLLUP CUBE DATA CATEGORY AT ABOVE BELOW ' +
    'ABOVE_OR_BELOW'
  ).split(' ')
);

const SOSL_KEYWORDS = new Set([
  ...SOQL_KEYWORDS,
  ...(
    'FIND RETURNING FIELDS DIVISION HIGHLIGHT SNIPPET NETWORK METADATA ' +
    'PRICEBOOKID SPELL_CORRECTION'
  ).split(' ')
]);

/** SOSL's search groups (`IN NAME FIELDS`): keywords only right before FIELDS,
 * so a field called Name or Email is not painted as a keyword. */
const SOSL_SEARCH_GROUPS = new Set(['ALL', 'NAME', 'EMAIL', 'PHONE', 'SIDEBAR']);

/** Functions: painted only when a `(` follows. */
const FUNCTIONS = new Set(
  (
    'AVG COUNT COUNT_DISTINCT MIN MAX SUM CALENDAR_MONTH CALENDAR_QUARTER ' +
    'CALENDAR_YEAR DAY_IN_MONTH DAY_IN_WEEK DAY_IN_YEAR DAY_ONLY FISCAL_MONTH ' +
    'FISCAL_QUARTER FISCAL_YEAR HOUR_IN_DAY WEEK_IN_MONTH WEEK_IN_YEAR TOLABEL ' +
    'CONVERTTIMEZONE CONVERTCURRENCY FORMAT GROUPING DISTANCE GEOLOCATION FIELDS'
  ).split(' ')
);

/** Words inside FIELDS(…). */
const FIELDS_ARGUMENTS = new Set(['ALL', 'STANDARD', 'CUSTOM']);

const DATE_LITERALS = new Set(
  (
    'YESTERDAY TODAY TOMORROW LAST_WEEK THIS_WEEK NEXT_WEEK LAST_MONTH THIS_MONTH ' +
    'NEXT_MONTH LAST_90_DAYS NEXT_90_DAYS THIS_QUARTER LAST_QUARTER NEXT_QUARTER ' +
    'THIS_YEAR LAST_YEAR NEXT_YEAR THIS_FISCAL_QUARTER LAST_FISCAL_QUARTER ' +
    'NEXT_FISCAL_QUARTER THIS_FISCAL_YEAR LAST_FISCAL_YEAR NEXT_FISCAL_YEAR'
  ).split(' ')
);

const ATOMS = new Set(['TRUE', 'FALSE', 'NULL']);

/** `LAST_N_DAYS:30`, `N_WEEKS_AGO:2`: a date literal with its number. */
const N_DATE_LITERAL = /^(?:(?:LAST|NEXT)_N_[A-Z_]+|N_[A-Z_]+_AGO)$/;

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER =
  /\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?|\d+(?:\.\d+)?|\.\d+/y;
const OPERATOR = /!=|<>|<=|>=|[=<>]/y;
const SPACE = /\s*/y;

function matchAt(re: RegExp, text: string, at: number): string | null {
  re.lastIndex = at;
  const found = re.exec(text);
  return found ? found[0] : null;
}

/** The next non-space character at or after `at`, or '' at the end. */
function nextChar(text: string, at: number): string {
  SPACE.lastIndex = at;
  SPACE.exec(text);
  return text.charAt(SPACE.lastIndex);
}

/** The word (identifier) starting after spaces at `at`, upper-cased. */
function nextWord(text: string, at: number): string {
  SPACE.lastIndex = at;
  SPACE.exec(text);
  return (matchAt(IDENT, text, SPACE.lastIndex) ?? '').toUpperCase();
}

function isWordChar(ch: string): boolean {
  return /[A-Za-z0-9_]/.test(ch);
}

/** End of a `'…'` string starting at `at` (backslash escapes; ends at a line break
 * when unterminated, as Salesforce refuses a string across lines). */
function stringEnd(text: string, at: number): number {
  let i = at + 1;
  while (i < text.length) {
    const ch = text.charAt(i);
    if (ch === '\\') {
      i += 2;
      continue;
    }
    if (ch === "'") {
      return i + 1;
    }
    if (ch === '\n') {
      return i;
    }
    i += 1;
  }
  return text.length;
}

/** End of a SOSL `{…}` search term starting at `at`. */
function braceEnd(text: string, at: number): number {
  let i = at + 1;
  while (i < text.length) {
    const ch = text.charAt(i);
    if (ch === '\\') {
      i += 2;
      continue;
    }
    if (ch === '}') {
      return i + 1;
    }
    i += 1;
  }
  return text.length;
}

/**
 * The tokens of `text[from, to)` (the whole text by default), in order.
 * Offsets are those of `text`.
 */
export function tokenizeSoql(
  text: string,
  dialect: SoqlDialect = 'soql',
  from = 0,
  to: number = text.length
): ISoqlToken[] {
  const tokens: ISoqlToken[] = [];
  const keywords = dialect === 'sosl' ? SOSL_KEYWORDS : SOQL_KEYWORDS;
  const source = text.slice(0, to);
  // Inside FIELDS(…), where ALL, STANDARD and CUSTOM are its arguments.
  let fieldsCall = false;
  let i = from;
  const push = (end: number, kind: SoqlTokenKind): void => {
    tokens.push({ from: i, to: end, kind });
    i = end;
  };
  while (i < to) {
    const ch = source.charAt(i);
    if (/\s/.test(ch)) {
      i += 1;
      continue;
    }
    if (ch === "'") {
      push(stringEnd(source, i), 'string');
      continue;
    }
    if (ch === '{' && dialect === 'sosl') {
      push(braceEnd(source, i), 'string');
      continue;
    }
    if (ch === ':' && !(i > 0 && isWordChar(source.charAt(i - 1)))) {
      const name = matchAt(IDENT, source, i + 1);
      if (name) {
        push(i + 1 + name.length, 'bind');
        continue;
      }
    }
    const word = matchAt(IDENT, source, i);
    if (word) {
      const upper = word.toUpperCase();
      const end = i + word.length;
      const before = i > 0 ? source.charAt(i - 1) : '';
      if (before === '.') {
        // A path segment (Owner.Name): never a keyword.
        i = end;
        continue;
      }
      if (FUNCTIONS.has(upper) && nextChar(source, end) === '(') {
        fieldsCall = upper === 'FIELDS';
        push(end, 'function');
        continue;
      }
      if (fieldsCall && FIELDS_ARGUMENTS.has(upper)) {
        push(end, 'keyword');
        continue;
      }
      if (N_DATE_LITERAL.test(upper) && source.charAt(end) === ':') {
        const digits = matchAt(/\d+/y, source, end + 1);
        push(end + 1 + (digits ? digits.length : 0), 'atom');
        continue;
      }
      if (DATE_LITERALS.has(upper) || ATOMS.has(upper)) {
        push(end, 'atom');
        continue;
      }
      if (dialect === 'sosl' && SOSL_SEARCH_GROUPS.has(upper)) {
        if (nextWord(source, end) === 'FIELDS') {
          push(end, 'keyword');
        } else {
          i = end;
        }
        continue;
      }
      if (keywords.has(upper) && nextChar(source, end) !== '.') {
        push(end, 'keyword');
        continue;
      }
      i = end;
      continue;
    }
    const number = matchAt(NUMBER, source, i);
    if (number && !(i > 0 && isWordChar(source.charAt(i - 1)))) {
      push(i + number.length, 'number');
      continue;
    }
    if ((ch === '-' || ch === '+') && /[\d.]/.test(source.charAt(i + 1))) {
      const signed = matchAt(NUMBER, source, i + 1);
      const prev = previousSignificant(source, i);
      // A sign, not a subtraction: SOQL has no arithmetic, so after an operator,
      // a comma, a paren or a keyword it can only be a signed literal.
      if (signed && (prev === '' || /[=<>(,]/.test(prev) || /[A-Za-z]/.test(prev))) {
        push(i + 1 + signed.length, 'number');
        continue;
      }
    }
    const operator = matchAt(OPERATOR, source, i);
    if (operator) {
      push(i + operator.length, 'operator');
      continue;
    }
    if ('(),.;'.includes(ch)) {
      if (ch === ')') {
        fieldsCall = false;
      }
      push(i + 1, 'punctuation');
      continue;
    }
    i += 1;
  }
  return tokens;
}

function previousSignificant(text: string, at: number): string {
  let j = at - 1;
  while (j >= 0 && /\s/.test(text.charAt(j))) {
    j -= 1;
  }
  return j >= 0 ? text.charAt(j) : '';
}

/** Where a query magic's text starts in a cell, and its dialect. */
export interface IMagicQuery {
  readonly dialect: SoqlDialect;
  /** The `%%soql` / `%soql` word. */
  readonly magicFrom: number;
  readonly magicTo: number;
  /** The query: `[from, to)` of the cell text. */
  readonly from: number;
  readonly to: number;
}

/** Options of the magics that take a value (as the kernel's `split_line`). */
const VALUE_OPTIONS = new Set(['-c', '--connection', '-o', '--output', '--engine']);

/**
 * The queries of a code cell: the body of a `%%soql` / `%%sosl` cell (which must
 * be the cell's first line, as IPython requires), or the query of each `%soql` /
 * `%sosl` line magic (after its options, as the kernel splits them).
 */
export function findMagicQueries(cell: string): IMagicQuery[] {
  const cellMagic = /^[ \t]*%%(soql|sosl)\b/.exec(cell);
  if (cellMagic) {
    const magicFrom = cellMagic[0].indexOf('%');
    const lineEnd = cell.indexOf('\n');
    const from = lineEnd < 0 ? cell.length : lineEnd + 1;
    return [
      {
        dialect: cellMagic[1] as SoqlDialect,
        magicFrom,
        magicTo: cellMagic[0].length,
        from,
        to: cell.length
      }
    ];
  }
  const found: IMagicQuery[] = [];
  const lineMagic = /(^|[=(\s])%(soql|sosl)\b/gm;
  let match: RegExpExecArray | null;
  while ((match = lineMagic.exec(cell)) !== null) {
    const magicFrom = match.index + match[1].length;
    const magicTo = magicFrom + 1 + match[2].length;
    const lineEnd = cell.indexOf('\n', magicTo);
    const to = lineEnd < 0 ? cell.length : lineEnd;
    found.push({
      dialect: match[2] as SoqlDialect,
      magicFrom,
      magicTo,
      from: magicTo + queryStart(cell.slice(magicTo, to)),
      to
    });
  }
  return found;
}

/** Offset in a line magic's argument text where the query starts (after options). */
function queryStart(line: string): number {
  const word = /\S+/g;
  let expectValue = false;
  let position = 0;
  let match: RegExpExecArray | null;
  while ((match = word.exec(line)) !== null) {
    const token = match[0];
    if (expectValue) {
      expectValue = false;
    } else if (token.startsWith('-') && !/^-\d/.test(token)) {
      expectValue = VALUE_OPTIONS.has(token);
    } else {
      return match.index;
    }
    position = match.index + token.length;
  }
  return position;
}

/** The tokens of every magic query of a cell, the magic words included. */
export function tokenizeCell(cell: string): ISoqlToken[] {
  if (cell.length > MAX_HIGHLIGHT_LENGTH) {
    return [];
  }
  const tokens: ISoqlToken[] = [];
  for (const query of findMagicQueries(cell)) {
    tokens.push({ from: query.magicFrom, to: query.magicTo, kind: 'magic' });
    tokens.push(...tokenizeSoql(cell, query.dialect, query.from, query.to));
  }
  return tokens;
}
