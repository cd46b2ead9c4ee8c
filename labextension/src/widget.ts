/**
 * The connect form's Authorize button, as a custom ipywidget.
 *
 * Contract with the kernel side (module `ak-salesforce-nb`, version 0.1.0):
 *
 * Synced traits set by the kernel:
 *   connection_name: string, start_url: string ("" when nothing is pending),
 *   description: string (button label), disabled: boolean, button_style: string.
 * Synced trait set by this view:
 *   page_callback_urls: string[] (recommended first).
 *
 * View → kernel custom messages:
 *   {event: "authorize-clicked"}  the popup is open, create a pending authorization
 *                                 and set start_url
 *   {event: "popup-blocked"}      window.open returned null
 *   {event: "popup-closed"}       the popup closed before a result arrived
 *   {event: "oauth-result", name, state}   the callback page announced a result
 * Kernel → view custom messages:
 *   {command: "close-popup"}      validation failed: close the popup
 *
 * This module imports `@jupyter-widgets/base`; it is only loaded (lazily) when
 * ipywidgets' JupyterLab manager is present.
 */
import { DOMWidgetModel, DOMWidgetView } from '@jupyter-widgets/base';

import { createCopyButton } from './clipboard';
import { listenForOAuthResults } from './listener';
import { IOAuthMessage } from './messages';
import { pageCallbackUrls } from './page';
import {
  closePopup,
  closePopupSoon,
  navigatePopup,
  openAuthPopup,
  watchPopup,
  writePopupText
} from './popup';
import { MODULE_NAME, MODULE_VERSION } from './version';

/** How long to wait for the kernel to set start_url after a click (ms). */
const KERNEL_ANSWER_TIMEOUT_MS = 20000;

const BUTTON_STYLES = ['primary', 'success', 'info', 'warning', 'danger'];

/** The model: traits and their defaults. */
export class AuthorizeBridgeModel extends DOMWidgetModel {
  defaults(): ReturnType<DOMWidgetModel['defaults']> {
    return {
      ...super.defaults(),
      _model_name: AuthorizeBridgeModel.model_name,
      _model_module: AuthorizeBridgeModel.model_module,
      _model_module_version: AuthorizeBridgeModel.model_module_version,
      _view_name: AuthorizeBridgeModel.view_name,
      _view_module: AuthorizeBridgeModel.view_module,
      _view_module_version: AuthorizeBridgeModel.view_module_version,
      connection_name: '',
      start_url: '',
      description: 'Authorize',
      disabled: false,
      button_style: 'primary',
      page_callback_urls: []
    };
  }

  static model_name = 'AuthorizeBridgeModel';
  static model_module = MODULE_NAME;
  static model_module_version = MODULE_VERSION;
  static view_name = 'AuthorizeBridgeView';
  static view_module = MODULE_NAME;
  static view_module_version = MODULE_VERSION;
}

function asString(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function sameStrings(a: unknown, b: string[]): boolean {
  return (
    Array.isArray(a) &&
    a.length === b.length &&
    a.every((value, i) => value === b[i])
  );
}

/** The view: an Authorize button and a one-line callback URL with Copy. */
export class AuthorizeBridgeView extends DOMWidgetView {
  render(): void {
    super.render();
    this.el.classList.add('aksf-bridge');

    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.testid = 'aksf-authorize-button';
    button.addEventListener('click', event => {
      event.preventDefault();
      this._onClick();
    });
    this._button = button;

    const note = document.createElement('div');
    note.className = 'aksf-bridge-note';
    note.dataset.testid = 'aksf-bridge-note';
    note.hidden = true;
    this._note = note;

    this.el.append(button, note, this._renderCallbackLine());

    this._updateButton();
    this.listenTo(
      this.model,
      'change:description change:disabled change:button_style',
      () => this._updateButton()
    );
    this.listenTo(this.model, 'change:start_url', () => this._onStartUrl());
    this.listenTo(this.model, 'msg:custom', (content: unknown) =>
      this._onCustomMessage(content)
    );
    this._stopListening = listenForOAuthResults(msg => this._onResult(msg), {
      expectedName: () => this._connectionName()
    });
    this._syncCallbackUrls();
  }

  remove(): unknown {
    this._stopListening?.();
    this._stopListening = null;
    this._endFlow(false);
    return super.remove();
  }

  private _connectionName(): string {
    return asString(this.model.get('connection_name'));
  }

  private _renderCallbackLine(): HTMLElement {
    const urls = pageCallbackUrls();
    const line = document.createElement('div');
    line.className = 'aksf-bridge-callback';
    const label = document.createElement('span');
    label.className = 'aksf-bridge-callback-label';
    label.textContent = 'Callback URL: ';
    const code = document.createElement('code');
    code.dataset.testid = 'aksf-callback-url';
    code.textContent = urls[0]?.url ?? '';
    line.title = urls.map(u => `${u.url}\n  (${u.label})`).join('\n');
    const copy = createCopyButton(
      () => code.textContent ?? '',
      () => code,
      'aksf-callback-copy'
    );
    line.append(label, code, ' ', copy);
    return line;
  }

  /** Tell the kernel which callback URL(s) this page computes. */
  private _syncCallbackUrls(): void {
    const urls = pageCallbackUrls().map(u => u.url);
    if (sameStrings(this.model.get('page_callback_urls'), urls)) {
      return;
    }
    this.model.set('page_callback_urls', urls);
    if (this.model.comm_live) {
      try {
        this.model.save_changes();
      } catch (err) {
        console.warn('ak-salesforce-nb: could not sync page_callback_urls', err);
      }
    }
  }

  private _updateButton(): void {
    const button = this._button;
    if (!button) {
      return;
    }
    button.textContent = asString(this.model.get('description')) || 'Authorize';
    button.disabled = Boolean(this.model.get('disabled'));
    const style = asString(this.model.get('button_style'));
    button.className = 'jupyter-widgets jupyter-button widget-button aksf-bridge-button';
    if (BUTTON_STYLES.includes(style)) {
      button.classList.add(`mod-${style}`);
    }
  }

  private _showNote(text: string): void {
    if (this._note) {
      this._note.textContent = text;
      this._note.hidden = !text;
    }
  }

  private _onClick(): void {
    if (this.model.get('disabled')) {
      return;
    }
    const name = this._connectionName();
    if (!this.model.comm_live) {
      this._showNote(
        'The notebook kernel is not connected: run the connect cell again, then click Authorize.'
      );
      return;
    }
    this._showNote('');
    // Opened synchronously in the click, so popup blockers allow it.
    const popup = openAuthPopup(name);
    if (!popup) {
      this._endFlow(false);
      this.send({ event: 'popup-blocked' });
      return;
    }
    this._endFlow(false);
    this._popup = popup;
    this._awaitingStart = true;
    this._awaitingResult = true;
    this._stopWatch = watchPopup(popup, () => this._onPopupClosed());
    this._kernelTimer = setTimeout(() => {
      this._kernelTimer = null;
      if (this._awaitingStart && this._popup) {
        writePopupText(
          this._popup,
          'The notebook kernel did not answer. Make sure it is running, then click Authorize again.'
        );
      }
    }, KERNEL_ANSWER_TIMEOUT_MS);
    this.send({ event: 'authorize-clicked' });
  }

  private _onStartUrl(): void {
    const url = asString(this.model.get('start_url'));
    const popup = this._popup;
    if (!url || !popup || !this._awaitingStart || popup.closed) {
      return;
    }
    this._awaitingStart = false;
    this._clearKernelTimer();
    if (!navigatePopup(popup, url)) {
      writePopupText(popup, 'Could not open the Salesforce authorization page.');
    }
  }

  private _onCustomMessage(content: unknown): void {
    if (
      typeof content === 'object' &&
      content !== null &&
      (content as { command?: unknown }).command === 'close-popup'
    ) {
      this._endFlow(true);
    }
  }

  private _onPopupClosed(): void {
    this._stopWatch = null;
    const wasAwaiting = this._awaitingResult;
    this._popup = null;
    this._awaitingStart = false;
    this._awaitingResult = false;
    this._clearKernelTimer();
    if (wasAwaiting) {
      this.send({ event: 'popup-closed' });
    }
  }

  private _onResult(msg: IOAuthMessage): void {
    this.send({ event: 'oauth-result', name: msg.name, state: msg.state });
    const popup = this._popup;
    this._endFlow(false);
    closePopupSoon(msg.name, popup);
  }

  /** Stop watching the popup (closing it when `close`); no message is sent. */
  private _endFlow(close: boolean): void {
    this._stopWatch?.();
    this._stopWatch = null;
    this._clearKernelTimer();
    if (close) {
      closePopup(this._popup);
    }
    this._popup = null;
    this._awaitingStart = false;
    this._awaitingResult = false;
  }

  private _clearKernelTimer(): void {
    if (this._kernelTimer !== null) {
      clearTimeout(this._kernelTimer);
      this._kernelTimer = null;
    }
  }

  private _button: HTMLButtonElement | null = null;
  private _note: HTMLElement | null = null;
  private _popup: Window | null = null;
  private _awaitingStart = false;
  private _awaitingResult = false;
  private _stopWatch: (() => void) | null = null;
  private _stopListening: (() => void) | null = null;
  private _kernelTimer: ReturnType<typeof setTimeout> | null = null;
}
