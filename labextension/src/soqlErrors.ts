/**
 * Where a failed `%%soql` / `%soql` query went wrong, read from the kernel's error.
 *
 * For a query error at a row and column, the kernel's magic (`render_error` in
 * `ak_salesforce_nb/kernel/_magic.py`) shows its own short text instead of a
 * traceback: the message, then the query line (numbered) and a caret under the
 * column, e.g.
 *
 *     SalesforceError (INVALID_FIELD): No such column 'Nme' on entity 'Account'.
 *        2 | SELECT Nme FROM Account
 *          |        ^
 *
 * This module finds that block in an error's traceback and maps it to a range of
 * the cell's text, so the editor can underline it. It has no dependency (the unit
 * tests run it in plain Node). Matching the printed line against the cell keeps
 * it honest: if the cell no longer holds that line, nothing is marked.
 */

/** The parts of a Jupyter error (an `error` output, or an execute reply). */
export interface IErrorLike {
  readonly ename?: string;
  readonly evalue?: string;
  readonly traceback?: readonly string[];
}

/** The caret block of an error: 1-based row of the query, 0-based column. */
export interface ICaretBlock {
  readonly row: number;
  readonly column: number;
  /** The query's line as printed. */
  readonly line: string;
  /** The error's sentence (the text above the caret block). */
  readonly message: string;
}

/** A range of the cell's text to mark, and what to say about it. */
export interface ISoqlErrorMark {
  readonly from: number;
  readonly to: number;
  readonly message: string;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;
const GUTTER_LINE = /^ *(\d+) \| (.*)$/;
const CARET_LINE = /^ *\| ([ \t]*)\^\s*$/;

/** The caret block of `error`'s traceback, or null when it has none. */
export function parseCaretBlock(error: IErrorLike): ICaretBlock | null {
  const lines = (error.traceback ?? [])
    .join('\n')
    .replace(ANSI, '')
    .split('\n');
  for (let i = 1; i < lines.length; i++) {
    const caret = CARET_LINE.exec(lines[i]);
    const gutter = caret ? GUTTER_LINE.exec(lines[i - 1]) : null;
    if (!caret || !gutter) {
      continue;
    }
    const above = lines
      .slice(0, i - 1)
      .map(line => line.trim())
      .filter(line => line.length > 0);
    const fallback = [error.ename, error.evalue].filter(Boolean).join(': ');
    return {
      row: Number(gutter[1]),
      column: caret[1].length,
      line: gutter[2],
      message: above.length > 0 ? above.join('\n') : fallback
    };
  }
  return null;
}

/** Offsets in `text` where each line starts. */
function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    if (text.charAt(i) === '\n') {
      starts.push(i + 1);
    }
  }
  return starts;
}

/** The end of the token starting at `at` in `line`: a word, a string, or one character. */
function tokenEnd(line: string, at: number): number {
  const word = /[A-Za-z0-9_.:]*[A-Za-z0-9_]/y;
  word.lastIndex = at;
  const found = word.exec(line);
  if (found && found[0].length > 0) {
    return at + found[0].length;
  }
  if (line.charAt(at) === "'") {
    const close = line.indexOf("'", at + 1);
    return close < 0 ? line.length : close + 1;
  }
  return Math.min(at + 1, line.length);
}

/**
 * The range of `cell` that `block` points at. A `%%soql` cell's query starts on the
 * cell's second line (row 1 is cell line 2); a `%soql` line magic's query is found
 * by its printed line. Null when the cell does not hold the printed line (edited).
 */
export function locateInCell(cell: string, block: ICaretBlock): ISoqlErrorMark | null {
  const starts = lineStarts(cell);
  const lineAt = (index: number): string => {
    const end = index + 1 < starts.length ? starts[index + 1] - 1 : cell.length;
    return cell.slice(starts[index], end);
  };
  const isCellMagic = /^[ \t]*%%(soql|sosl)\b/.test(cell);
  let lineIndex = -1;
  let shift = 0;
  if (isCellMagic && block.row < starts.length) {
    const candidate = lineAt(block.row);
    if (candidate.trimEnd() === block.line.trimEnd()) {
      lineIndex = block.row;
    }
  }
  if (lineIndex < 0) {
    // A line magic (or a moved line): the first cell line that holds the printed one.
    for (let index = 0; index < starts.length; index++) {
      const found = block.line.length > 0 ? lineAt(index).indexOf(block.line) : -1;
      if (found >= 0) {
        lineIndex = index;
        shift = found;
        break;
      }
    }
  }
  if (lineIndex < 0) {
    return null;
  }
  const line = lineAt(lineIndex);
  let column = Math.min(shift + block.column, line.length);
  if (column === line.length && column > 0) {
    column -= 1; // past the end ("unexpected end of query"): mark the last character
  }
  const from = starts[lineIndex] + column;
  const to = starts[lineIndex] + Math.max(tokenEnd(line, column), column + 1);
  return { from, to: Math.min(to, starts[lineIndex] + line.length), message: block.message };
}

/** The mark for `error` in `cell`, or null (not a located query error). */
export function soqlErrorMark(cell: string, error: IErrorLike): ISoqlErrorMark | null {
  const block = parseCaretBlock(error);
  return block ? locateInCell(cell, block) : null;
}
