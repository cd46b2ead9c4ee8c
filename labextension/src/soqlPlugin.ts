/**
 * `ak-salesforce-nb:soql`: SOQL in JupyterLab 4 and Notebook 7.
 *
 * - `%%soql` / `%%sosl` cells and `%soql` lines are highlighted as SOQL (an editor
 *   extension for inline editors: notebook cells and consoles; see `soqlEditor`).
 * - `.soql` / `.sosl` files open highlighted (SOQL and SOSL languages registered
 *   with the editor language registry, mime `text/x-soql` / `text/x-sosl`).
 * - After a failed run, the part of the query Salesforce pointed at is underlined
 *   in the cell, the message on hover; re-running or editing the cell clears it.
 *   A notebook opened with such an error saved in its outputs shows it too.
 *
 * Completion (Tab) and inspection (Shift+Tab) come from the kernel, as in every
 * frontend; nothing here intercepts them.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Cell, CodeCell } from '@jupyterlab/cells';
import {
  CodeMirrorEditor,
  EditorExtensionRegistry,
  IEditorExtensionRegistry,
  IEditorLanguageRegistry
} from '@jupyterlab/codemirror';
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';

import { showSoqlError, soqlCellExtension } from './soqlEditor';
import { IErrorLike, soqlErrorMark } from './soqlErrors';
import { soqlSupport } from './soqlLanguage';
import { findMagicQueries } from './soqlTokens';

/** The editor extension's name in JupyterLab's registry. */
export const SOQL_EXTENSION_NAME = 'ak-salesforce-nb:soql';

/** The CodeMirror view of a cell, when its editor is a CodeMirror one. */
function viewOf(cell: Cell): CodeMirrorEditor['editor'] | null {
  const editor = cell.editor;
  return editor instanceof CodeMirrorEditor ? editor.editor : null;
}

/** The error outputs of a code cell (what the kernel showed). */
function errorOutputs(cell: Cell): IErrorLike[] {
  if (!(cell instanceof CodeCell)) {
    return [];
  }
  const found: IErrorLike[] = [];
  const outputs = cell.model.outputs;
  for (let i = 0; i < outputs.length; i++) {
    const output = outputs.get(i).toJSON();
    if (output.output_type === 'error') {
      found.push({
        ename: String(output.ename ?? ''),
        evalue: String(output.evalue ?? ''),
        traceback: Array.isArray(output.traceback) ? output.traceback.map(String) : []
      });
    }
  }
  return found;
}

/** Underline the query error of a cell that just failed (if it is one). */
function markFailedCell(cell: Cell, error: IErrorLike | null | undefined): void {
  const view = viewOf(cell);
  if (!view) {
    return;
  }
  const source = cell.model.sharedModel.getSource();
  if (findMagicQueries(source).length === 0) {
    return;
  }
  for (const candidate of [...(error ? [error] : []), ...errorOutputs(cell)]) {
    const mark = soqlErrorMark(source, candidate);
    if (mark) {
      showSoqlError(view, mark);
      return;
    }
  }
}

function clearCell(cell: Cell): void {
  const view = viewOf(cell);
  if (view) {
    showSoqlError(view, null);
  }
}

export const soqlPlugin: JupyterFrontEndPlugin<void> = {
  id: 'ak-salesforce-nb:soql',
  description:
    'SOQL highlighting in %%soql cells and .soql files; Salesforce query errors underlined in the cell.',
  autoStart: true,
  requires: [IEditorExtensionRegistry],
  optional: [IEditorLanguageRegistry, INotebookTracker],
  activate: (
    _app: JupyterFrontEnd,
    extensions: IEditorExtensionRegistry,
    languages: IEditorLanguageRegistry | null,
    notebooks: INotebookTracker | null
  ): void => {
    extensions.addExtension({
      name: SOQL_EXTENSION_NAME,
      // Inline editors: notebook cells and console prompts, where magics live.
      factory: options =>
        options.inline
          ? EditorExtensionRegistry.createImmutableExtension(soqlCellExtension())
          : null
    });

    if (languages) {
      languages.addLanguage({
        name: 'soql',
        displayName: 'SOQL',
        mime: 'text/x-soql',
        extensions: ['soql'],
        support: soqlSupport('soql')
      });
      languages.addLanguage({
        name: 'sosl',
        displayName: 'SOSL',
        mime: 'text/x-sosl',
        extensions: ['sosl'],
        support: soqlSupport('sosl')
      });
    }

    // Saved errors: once a notebook is loaded, each failed query cell, when first drawn.
    notebooks?.widgetAdded.connect((_, panel) => {
      void panel.context.ready.then(() => {
        for (const cell of panel.content.widgets) {
          if (errorOutputs(cell).length > 0) {
            void cell.ready.then(() => markFailedCell(cell, null));
          }
        }
      });
    });

    NotebookActions.executionScheduled.connect((_, { cell }) => clearCell(cell));
    NotebookActions.outputCleared.connect((_, { cell }) => clearCell(cell));
    NotebookActions.executed.connect((_, { cell, success, error }) => {
      if (!success) {
        markFailedCell(
          cell,
          error
            ? { ename: error.errorName, evalue: error.errorValue, traceback: error.traceback }
            : null
        );
      }
    });
  }
};
