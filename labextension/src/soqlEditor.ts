/**
 * CodeMirror 6 pieces for SOQL in notebook cells.
 *
 * JupyterLab keeps a `%%soql` cell's language Python (the kernel's language), so
 * the query cannot get a language of its own. Instead, a view plugin decorates
 * the query text of `%%soql` / `%%sosl` cells and `%soql` lines with CSS classes
 * (`aksf-soql-keyword`, …, styled in style/soql.css with JupyterLab's theme
 * variables, so light and dark themes both work). It costs nothing on other cells:
 * a cell without the magic yields no decoration.
 *
 * A state field holds the range a Salesforce error pointed at (set by the notebook
 * plugin after a failed run), drawn as a wavy underline with the message on
 * hover; any edit of the cell clears it.
 */
import { Extension, RangeSetBuilder, StateEffect, StateField } from '@codemirror/state';
import {
  Decoration,
  DecorationSet,
  EditorView,
  hoverTooltip,
  ViewPlugin,
  ViewUpdate
} from '@codemirror/view';

import { ISoqlErrorMark } from './soqlErrors';
import { findMagicQueries, MAX_HIGHLIGHT_LENGTH, tokenizeCell } from './soqlTokens';

/** CSS class prefix of the tokens; the kind follows (`aksf-soql-keyword`). */
export const TOKEN_CLASS_PREFIX = 'aksf-soql-';
/** CSS class of a query's whole text (it neutralizes Python's colors there). */
export const QUERY_CLASS = 'aksf-soql-query';
/** CSS class of the error underline. */
export const ERROR_CLASS = 'aksf-soql-error';

const marks = new Map<string, Decoration>();
function markFor(kind: string): Decoration {
  let mark = marks.get(kind);
  if (!mark) {
    mark = Decoration.mark({ class: TOKEN_CLASS_PREFIX + kind });
    marks.set(kind, mark);
  }
  return mark;
}
const queryMark = Decoration.mark({ class: QUERY_CLASS });

function decorate(text: string): DecorationSet {
  const ranges = tokenizeCell(text)
    .filter(token => token.to > token.from)
    .map(token => markFor(token.kind).range(token.from, token.to));
  return ranges.length > 0 ? Decoration.set(ranges, true) : Decoration.none;
}

/** The query text of every magic in the cell (for the "neutral" query class). */
function queryRanges(text: string): DecorationSet {
  if (text.length > MAX_HIGHLIGHT_LENGTH) {
    return Decoration.none;
  }
  const builder = new RangeSetBuilder<Decoration>();
  for (const query of findMagicQueries(text)) {
    if (query.to > query.from) {
      builder.add(query.from, query.to, queryMark);
    }
  }
  return builder.finish();
}

/** Highlights the SOQL of `%%soql` cells and `%soql` lines. */
export const soqlHighlighter = ViewPlugin.fromClass(
  class {
    decorations: DecorationSet;
    query: DecorationSet;

    constructor(view: EditorView) {
      const text = view.state.doc.toString();
      this.decorations = decorate(text);
      this.query = queryRanges(text);
    }

    update(update: ViewUpdate): void {
      if (update.docChanged) {
        const text = update.state.doc.toString();
        this.decorations = decorate(text);
        this.query = queryRanges(text);
      }
    }
  },
  {
    provide: plugin => [
      EditorView.decorations.of(view => view.plugin(plugin)?.query ?? Decoration.none),
      EditorView.decorations.of(view => view.plugin(plugin)?.decorations ?? Decoration.none)
    ]
  }
);

/** Sets (a mark) or clears (null) the error range of a cell's editor. */
export const setSoqlError = StateEffect.define<ISoqlErrorMark | null>();

/** The current error range, if any; cleared by any edit. */
export const soqlErrorField = StateField.define<ISoqlErrorMark | null>({
  create: () => null,
  update(value, transaction) {
    let next = transaction.docChanged ? null : value;
    for (const effect of transaction.effects) {
      if (effect.is(setSoqlError)) {
        next = effect.value;
      }
    }
    if (next && next.to > transaction.state.doc.length) {
      next = null;
    }
    return next;
  },
  provide: field =>
    EditorView.decorations.from(field, mark =>
      mark && mark.to > mark.from
        ? Decoration.set([
            Decoration.mark({
              class: ERROR_CLASS,
              attributes: { 'aria-invalid': 'true', 'data-aksf-message': mark.message }
            }).range(mark.from, mark.to)
          ])
        : Decoration.none
    )
});

/** The message of the error under the pointer, as a tooltip. */
const errorTooltip = hoverTooltip((view, pos) => {
  const mark = view.state.field(soqlErrorField, false);
  if (!mark || pos < mark.from || pos > mark.to) {
    return null;
  }
  return {
    pos: mark.from,
    end: mark.to,
    above: true,
    create: () => {
      const dom = document.createElement('div');
      dom.className = 'aksf-soql-error-tooltip';
      dom.textContent = mark.message;
      return { dom };
    }
  };
});

/** Everything a cell editor needs: the highlighter and the error mark. */
export function soqlCellExtension(): Extension {
  return [soqlHighlighter, soqlErrorField, errorTooltip];
}

/** Mark (or clear, with null) the error range in `view`. */
export function showSoqlError(view: EditorView, mark: ISoqlErrorMark | null): void {
  view.dispatch({ effects: setSoqlError.of(mark) });
}
