/**
 * JupyterLab 4 / Notebook 7 extension of ak_salesforce_nb.
 *
 * - `ak-salesforce-nb:plugin`: the "Salesforce" side panel and the commands.
 * - `ak-salesforce-nb:widgets`: registers the connect form's Authorize button
 *   widget (module `ak-salesforce-nb`) with ipywidgets, when ipywidgets is
 *   there. `@jupyter-widgets/base` is only imported dynamically, so this
 *   extension still loads without ipywidgets.
 * - `ak-salesforce-nb:soql`: SOQL highlighting in `%%soql` cells and `.soql`
 *   files, and Salesforce query errors underlined in the cell (`soqlPlugin`).
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  InputDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';

import { ConnectionsApi } from './api';
import { sessionCellSource } from './cells';
import { salesforceIcon } from './icon';
import { soqlPlugin } from './soqlPlugin';
import { ConnectionsPanel, PANEL_ID } from './panel';
import { validateConnectionName } from './validation';
import { MODULE_NAME, MODULE_VERSION } from './version';

/** Command ids. */
export namespace CommandIDs {
  export const addConnection = 'ak-salesforce-nb:add-connection';
  export const openPanel = 'ak-salesforce-nb:open-panel';
  export const insertSessionCell = 'ak-salesforce-nb:insert-session-cell';
}

/** Palette category. */
const CATEGORY = 'Salesforce';

/** Rank of the panel in the left area. */
const PANEL_RANK = 900;

/** Ask for a connection name: a pick list of known ones (editable), else free text. */
async function askConnectionName(api: ConnectionsApi): Promise<string | null> {
  let names: string[] = [];
  try {
    names = (await api.list()).map(c => c.name);
  } catch {
    names = [];
  }
  const title = 'Insert Salesforce session cell';
  const result =
    names.length > 0
      ? await InputDialog.getItem({
          title,
          label: 'Connection',
          items: names,
          current: names[0],
          editable: true
        })
      : await InputDialog.getText({
          title,
          label: 'Connection name',
          placeholder: 'prod'
        });
  if (!result.button.accept || result.value === null) {
    return null;
  }
  return result.value.trim();
}

const panelPlugin: JupyterFrontEndPlugin<void> = {
  id: 'ak-salesforce-nb:plugin',
  description:
    'Salesforce side panel (connections, authorize, add) and commands of ak_salesforce_nb.',
  autoStart: true,
  optional: [ICommandPalette, INotebookTracker, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    tracker: INotebookTracker | null,
    restorer: ILayoutRestorer | null
  ): void => {
    const api = new ConnectionsApi();
    const panel = new ConnectionsPanel({ api });
    app.shell.add(panel, 'left', { rank: PANEL_RANK });
    if (restorer) {
      restorer.add(panel, PANEL_ID);
    }

    const { commands } = app;
    commands.addCommand(CommandIDs.openPanel, {
      label: 'Salesforce: Open connections panel',
      caption: 'Show the Salesforce connections panel',
      icon: args => (args['isPalette'] ? undefined : salesforceIcon),
      execute: () => {
        app.shell.activateById(panel.id);
        void panel.refresh();
      }
    });
    commands.addCommand(CommandIDs.addConnection, {
      label: 'Salesforce: Add connection',
      caption: 'Add a Salesforce connection (your own OAuth app)',
      execute: () => {
        app.shell.activateById(panel.id);
        // Let the shell show the panel before focusing.
        requestAnimationFrame(() => panel.focusAddForm());
      }
    });
    commands.addCommand(CommandIDs.insertSessionCell, {
      label: 'Salesforce: Insert session cell',
      caption: 'Insert a cell that opens a Salesforce session, below the active cell',
      isEnabled: () => !!tracker?.currentWidget,
      execute: async () => {
        const current = tracker?.currentWidget;
        if (!current) {
          return;
        }
        const name = await askConnectionName(api);
        if (name === null) {
          return;
        }
        const error = validateConnectionName(name);
        if (error) {
          await showErrorMessage('Invalid connection name', error);
          return;
        }
        if (current.isDisposed) {
          return;
        }
        const notebook = current.content;
        NotebookActions.insertBelow(notebook);
        if (notebook.activeCell && notebook.activeCell.model.type !== 'code') {
          NotebookActions.changeCellType(notebook, 'code');
        }
        notebook.activeCell?.model.sharedModel.setSource(sessionCellSource(name));
        app.shell.activateById(current.id);
      }
    });

    if (palette) {
      for (const command of [
        CommandIDs.addConnection,
        CommandIDs.openPanel,
        CommandIDs.insertSessionCell
      ]) {
        palette.addItem({ command, category: CATEGORY });
      }
    }
  }
};

const widgetsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'ak-salesforce-nb:widgets',
  description:
    'Registers the connect form Authorize button widget with ipywidgets (when installed).',
  autoStart: true,
  activate: async (app: JupyterFrontEnd): Promise<void> => {
    let base: typeof import('@jupyter-widgets/base');
    try {
      // A shared singleton provided by ipywidgets' JupyterLab manager; not bundled.
      base = await import('@jupyter-widgets/base');
    } catch {
      console.info(
        'ak-salesforce-nb: ipywidgets is not available; the connect form uses its plain fallback.'
      );
      return;
    }
    let registry: import('@jupyter-widgets/base').IJupyterWidgetRegistry | null = null;
    try {
      registry = await app.resolveOptionalService(base.IJupyterWidgetRegistry);
    } catch (err) {
      console.warn('ak-salesforce-nb: the ipywidgets registry failed to start', err);
    }
    if (!registry) {
      return;
    }
    registry.registerWidget({
      name: MODULE_NAME,
      version: MODULE_VERSION,
      exports: async () => {
        const { AuthorizeBridgeModel, AuthorizeBridgeView } = await import('./widget');
        return { AuthorizeBridgeModel, AuthorizeBridgeView };
      }
    });
  }
};

const plugins: JupyterFrontEndPlugin<void>[] = [panelPlugin, widgetsPlugin, soqlPlugin];

export default plugins;
