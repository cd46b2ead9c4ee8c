/**
 * The "Salesforce" side panel: the user's connections, their state, Authorize,
 * Disconnect and Test buttons, the callback URL(s) to register, and a form to
 * add a connection.
 *
 * Its badges tell the truth: while the panel is visible, a connected connection
 * whose last check (by anybody: this panel, a notebook's form) is older than the
 * server's check interval is checked against Salesforce by the server
 * (`POST …/NAME/check`), and the badge shows what was found and how long ago.
 * Test checks at once. A preset (set up by the administrator) says so, and its
 * Disconnect signs out instead of removing it.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { refreshIcon } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { ApiError, ConnectionsApi } from './api';
import { createCopyButton } from './clipboard';
import { IConnection, shownState, stateLabel, testText } from './connections';
import { salesforceIcon } from './icon';
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
import {
  FormField,
  LOGIN_HOSTS,
  LoginHostChoice,
  loginChoiceFor,
  validateConnectionForm
} from './validation';

/** The panel's widget id. */
export const PANEL_ID = 'ak-salesforce-nb:panel';

/** Refresh period while the panel is visible (ms). */
export const REFRESH_MS = 5000;

type NoteKind = 'info' | 'error' | 'success';

interface INote {
  text: string;
  kind: NoteKind;
}

interface IFlow {
  popup: Window;
  stopWatch: () => void;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { className?: string; testId?: string; text?: string } = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.className) {
    node.className = props.className;
  }
  if (props.testId) {
    node.dataset.testid = props.testId;
  }
  if (props.text !== undefined) {
    node.textContent = props.text;
  }
  node.append(...children);
  return node;
}

function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    return err.message;
  }
  if (err instanceof Error) {
    return err.message;
  }
  return String(err);
}

/** The side panel. */
export class ConnectionsPanel extends Widget {
  constructor(options: { api?: ConnectionsApi } = {}) {
    super();
    this._api = options.api ?? new ConnectionsApi();
    this.id = PANEL_ID;
    this.addClass('aksf-panel');
    this.node.dataset.testid = 'aksf-panel';
    this.title.icon = salesforceIcon;
    this.title.caption = 'Salesforce connections';

    const refresh = el('button', { className: 'aksf-icon-button', testId: 'aksf-refresh' });
    refresh.type = 'button';
    refresh.title = 'Refresh';
    refresh.setAttribute('aria-label', 'Refresh');
    refresh.append(refreshIcon.element({ tag: 'span', className: 'aksf-icon' }));
    refresh.addEventListener('click', () => void this.refresh());

    const header = el(
      'div',
      { className: 'aksf-panel-header' },
      el('h2', { text: 'Salesforce' }),
      refresh
    );

    this._errorNode = el('div', {
      className: 'aksf-panel-error',
      testId: 'aksf-panel-error'
    });
    this._errorNode.setAttribute('role', 'alert');
    this._errorNode.hidden = true;

    this._listNode = el('div', {
      className: 'aksf-connections',
      testId: 'aksf-connections',
      text: 'Loading…'
    });

    this.node.append(
      header,
      this._renderCallbackUrls(),
      this._errorNode,
      this._listNode,
      this._renderAddForm()
    );

    this._stopListening = listenForOAuthResults(msg => this._onOAuthResult(msg));
  }

  /** Reload the connections from the server (errors are shown inline). */
  async refresh(): Promise<void> {
    if (this.isDisposed) {
      return;
    }
    if (this._loading) {
      this._reloadRequested = true;
      return;
    }
    this._loading = true;
    try {
      const list = await this._api.list();
      if (this.isDisposed) {
        return;
      }
      // A connection whose state changed (e.g. authorized from a notebook)
      // drops its stale note, unless this panel is running its flow.
      const previous = new Map((this._connections ?? []).map(c => [c.name, c.state]));
      for (const conn of list) {
        const before = previous.get(conn.name);
        if (before !== undefined && before !== conn.state && !this._flows.has(conn.name)) {
          this._notes.delete(conn.name);
        }
      }
      this._connections = list;
      this._applyDefaults();
      this._showError('');
      this._renderList();
      this._checkDue();
    } catch (err) {
      if (this.isDisposed) {
        return;
      }
      this._showError(`Could not load the connections: ${errorText(err)}`);
      if (this._connections === null) {
        this._listNode.textContent = '';
      }
    } finally {
      this._loading = false;
      if (this._reloadRequested && !this.isDisposed) {
        this._reloadRequested = false;
        void this.refresh();
      }
    }
  }

  /** Put the focus on the add form's name field. */
  focusAddForm(): void {
    this._form.scrollIntoView?.({ block: 'nearest' });
    this._inputs.name.focus();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._stopPolling();
    this._stopListening();
    for (const flow of this._flows.values()) {
      flow.stopWatch();
    }
    this._flows.clear();
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this.refresh();
    this._startPolling();
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this._stopPolling();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    if (this.isVisible) {
      void this.refresh();
      this._startPolling();
    }
  }

  protected onBeforeDetach(msg: Message): void {
    this._stopPolling();
    super.onBeforeDetach(msg);
  }

  private _startPolling(): void {
    if (this._timer !== null) {
      return;
    }
    this._timer = setInterval(() => {
      if (
        this.isVisible &&
        (typeof document === 'undefined' || document.visibilityState !== 'hidden')
      ) {
        void this.refresh();
      }
    }, REFRESH_MS);
  }

  private _stopPolling(): void {
    if (this._timer !== null) {
      clearInterval(this._timer);
      this._timer = null;
    }
  }

  private _showError(text: string): void {
    this._errorNode.textContent = text;
    this._errorNode.hidden = !text;
  }

  // ---- callback URLs ---------------------------------------------------

  private _renderCallbackUrls(): HTMLElement {
    const section = el(
      'section',
      { className: 'aksf-callback', testId: 'aksf-panel-callback' },
      el('h3', { text: 'Callback URL to register' }),
      el('p', {
        className: 'aksf-hint',
        text: 'Paste it as the Callback URL of your external client app (or connected app) in Salesforce.'
      })
    );
    for (const { url, kind, label } of pageCallbackUrls()) {
      const code = el('code', {
        className: 'aksf-callback-url',
        testId: `aksf-panel-callback-url-${kind}`,
        text: url
      });
      section.append(
        el(
          'div',
          { className: 'aksf-callback-row' },
          code,
          createCopyButton(() => url, () => code, `aksf-panel-callback-copy-${kind}`)
        ),
        el('div', { className: 'aksf-hint', text: label })
      );
    }
    return section;
  }

  // ---- connection list -------------------------------------------------

  /** The state each connection's badge shows now. */
  private _shown(conn: IConnection): ReturnType<typeof shownState> {
    return shownState(
      conn,
      this._api.serverNow(),
      this._api.checkInterval,
      this._testing.has(conn.name)
    );
  }

  private _renderList(): void {
    const list = this._connections ?? [];
    const signature = JSON.stringify([
      list,
      list.map(conn => this._shown(conn)),
      Array.from(this._notes.entries()),
      Array.from(this._busy),
      Array.from(this._testing)
    ]);
    if (signature === this._renderedSignature) {
      return;
    }
    this._renderedSignature = signature;
    this._listNode.textContent = '';
    if (list.length === 0) {
      this._listNode.append(
        el('p', {
          className: 'aksf-empty',
          testId: 'aksf-empty',
          text: 'No connections yet. Add one below, or create one from the connect form in a notebook.'
        })
      );
      return;
    }
    for (const conn of list) {
      this._listNode.append(this._renderConnection(conn));
    }
  }

  private _renderConnection(conn: IConnection): HTMLElement {
    const { name } = conn;
    const shown = this._shown(conn);
    const badge = el('span', {
      className: `aksf-badge aksf-badge-${shown.state.replace(/[^a-z_]/g, '')}`,
      testId: `aksf-state-${name}`,
      text: shown.state
    });
    badge.dataset.state = shown.state;
    badge.title = stateLabel(shown.state);
    const status = el('span', { className: 'aksf-badges' }, badge);
    if (shown.checked) {
      status.append(
        el('span', {
          className: 'aksf-checked',
          testId: `aksf-checked-${name}`,
          text: `(${shown.checked})`
        })
      );
    }

    const title = el('span', { className: 'aksf-connection-name', text: name });
    if (conn.preset) {
      title.append(
        el('span', {
          className: 'aksf-preset',
          testId: `aksf-preset-${name}`,
          text: ' · set up by your administrator'
        })
      );
    }
    const card = el(
      'div',
      { className: 'aksf-connection', testId: `aksf-connection-${name}` },
      el('div', { className: 'aksf-connection-header' }, title, status)
    );
    if (shown.sentence) {
      card.append(
        el('div', {
          className: 'aksf-connection-message',
          testId: `aksf-message-${name}`,
          text: shown.sentence
        })
      );
    }

    const details = el('dl', { className: 'aksf-details' });
    const addDetail = (label: string, value: string | Node): void => {
      details.append(el('dt', { text: label }), el('dd', {}, value));
    };
    if (conn.username) {
      addDetail(
        'User',
        conn.display_name && conn.display_name !== conn.username
          ? `${conn.display_name} (${conn.username})`
          : conn.username
      );
    }
    if (conn.organization_name) {
      addDetail('Org', conn.organization_name);
    }
    if (conn.organization_id) {
      addDetail('Org ID', conn.organization_id);
    }
    if (conn.instance_url) {
      let value: string | Node = conn.instance_url;
      if (/^https:\/\//i.test(conn.instance_url)) {
        const link = el('a', { text: conn.instance_url });
        link.href = conn.instance_url;
        link.target = '_blank';
        link.rel = 'noopener noreferrer';
        value = link;
      }
      addDetail('Instance', value);
    }
    if (conn.login_url) {
      addDetail('Login', conn.login_url);
    }
    if (details.childElementCount > 0) {
      card.append(details);
    }

    const busy = this._busy.has(name);
    const authorize = el('button', {
      className: 'jp-mod-styled jp-mod-accept aksf-button',
      testId: `aksf-authorize-${name}`,
      text: 'Authorize'
    });
    authorize.type = 'button';
    authorize.title =
      conn.state === 'connected'
        ? `Authorize "${name}" again in Salesforce`
        : `Authorize "${name}" in Salesforce`;
    // The name says which connection: a list of "Authorize" buttons read out of
    // context (a screen reader's list of buttons) would all sound the same.
    authorize.setAttribute('aria-label', `Authorize ${name}`);
    authorize.disabled = busy;
    authorize.addEventListener('click', () => this._authorize(name));

    const disconnect = el('button', {
      className: 'jp-mod-styled jp-mod-reject aksf-button',
      testId: `aksf-disconnect-${name}`,
      text: 'Disconnect'
    });
    disconnect.type = 'button';
    disconnect.title = conn.preset
      ? `Disconnect "${name}": revoke its tokens; the connection stays (your administrator set it up)`
      : `Disconnect "${name}": revoke its tokens and remove it`;
    disconnect.setAttribute('aria-label', `Disconnect ${name}`);
    disconnect.disabled = busy || (conn.preset && !conn.has_tokens);
    disconnect.addEventListener('click', () => void this._disconnect(name, conn.preset));

    // Test: ask Salesforce now whether the authorization still works.
    const test = el('button', {
      className: 'jp-mod-styled aksf-button',
      testId: `aksf-test-${name}`,
      text: 'Test'
    });
    test.type = 'button';
    test.title = `Check "${name}" against Salesforce now`;
    test.setAttribute('aria-label', `Test ${name}`);
    test.disabled = busy || !conn.has_tokens || this._testing.has(name);
    test.addEventListener('click', () => void this._test(name));

    card.append(el('div', { className: 'aksf-actions' }, authorize, disconnect, test));

    const note = this._notes.get(name);
    if (note) {
      const noteNode = el('div', {
        className: `aksf-note aksf-note-${note.kind}`,
        testId: `aksf-note-${name}`,
        text: note.text
      });
      noteNode.setAttribute('role', note.kind === 'error' ? 'alert' : 'status');
      card.append(noteNode);
    }
    return card;
  }

  // ---- checks against Salesforce -----------------------------------------

  /**
   * Ask the server to check each connected connection whose last check is
   * older than the server's interval (one request per connection at a time;
   * the server shares one check per connection with every other view).
   */
  private _checkDue(): void {
    const interval = this._api.checkInterval;
    if (interval === null) {
      return;
    }
    const now = this._api.serverNow();
    for (const conn of this._connections ?? []) {
      if (
        conn.state === 'connected' &&
        conn.has_tokens &&
        !this._checking.has(conn.name) &&
        (conn.checked_at === null || now - conn.checked_at >= interval)
      ) {
        void this._runCheck(conn.name, false);
      }
    }
  }

  private async _runCheck(name: string, force: boolean): Promise<void> {
    this._checking.add(name);
    try {
      const result = await this._api.check(name, force);
      if (this.isDisposed) {
        return;
      }
      if (result.connection && this._connections) {
        const updated = result.connection;
        this._connections = this._connections.map(c => (c.name === name ? updated : c));
      }
      if (force) {
        this._testing.delete(name);
        const passed = result.outcome === 'connected';
        this._notes.set(name, {
          kind: passed ? 'success' : 'error',
          text: testText(result, this._api.serverNow())
        });
      }
    } catch (err) {
      if (force && !this.isDisposed) {
        this._notes.set(name, { kind: 'error', text: `Test failed: ${errorText(err)}` });
      }
    } finally {
      this._checking.delete(name);
      this._testing.delete(name);
      if (!this.isDisposed) {
        this._renderList();
      }
    }
  }

  /** The Test button: check now; the badge says `checking` until the answer. */
  private async _test(name: string): Promise<void> {
    this._testing.add(name);
    this._notes.delete(name);
    this._renderList();
    await this._runCheck(name, true);
  }

  private _setNote(name: string, note: INote | null): void {
    if (note) {
      this._notes.set(name, note);
    } else {
      this._notes.delete(name);
    }
    this._renderList();
  }

  // ---- authorize / disconnect ------------------------------------------

  private _authorize(name: string): void {
    // Opened synchronously in the click, so popup blockers allow it.
    const popup = openAuthPopup(name);
    if (!popup) {
      this._setNote(name, {
        kind: 'error',
        text: 'The browser blocked the Salesforce window. Allow pop-ups for this site, then click Authorize again.'
      });
      return;
    }
    this._endFlow(name, false);
    const flow: IFlow = {
      popup,
      stopWatch: watchPopup(popup, () => {
        if (this._flows.get(name) !== flow) {
          return;
        }
        this._flows.delete(name);
        this._setNote(name, {
          kind: 'info',
          text: 'The Salesforce window was closed before finishing. Click Authorize to try again.'
        });
        void this.refresh();
      })
    };
    this._flows.set(name, flow);
    this._setNote(name, { kind: 'info', text: 'Waiting for Salesforce…' });

    this._api
      .authorize(name)
      .then(url => {
        if (this._flows.get(name) !== flow) {
          return;
        }
        if (!navigatePopup(popup, url)) {
          throw new ApiError('Could not open the Salesforce authorization page.');
        }
        void this.refresh();
      })
      .catch(err => {
        if (this._flows.get(name) !== flow) {
          return;
        }
        writePopupText(popup, errorText(err));
        this._endFlow(name, true);
        this._setNote(name, { kind: 'error', text: errorText(err) });
      });
  }

  private _endFlow(name: string, close: boolean): void {
    const flow = this._flows.get(name);
    if (!flow) {
      return;
    }
    this._flows.delete(name);
    flow.stopWatch();
    if (close) {
      closePopup(flow.popup);
    }
  }

  private _onOAuthResult(msg: IOAuthMessage): void {
    const popup = this._flows.get(msg.name)?.popup ?? null;
    this._endFlow(msg.name, false);
    closePopupSoon(msg.name, popup);
    if (msg.state === 'connected') {
      this._setNote(msg.name, { kind: 'success', text: 'Connected.' });
    } else {
      this._setNote(msg.name, {
        kind: 'error',
        text: msg.message || 'The authorization failed.'
      });
    }
    void this.refresh();
  }

  private async _disconnect(name: string, preset = false): Promise<void> {
    let accepted = false;
    try {
      const result = await showDialog({
        title: 'Disconnect from Salesforce',
        body: preset
          ? `Disconnect "${name}"? Its tokens are revoked; the connection stays, set up by your administrator: click Authorize to connect again.`
          : `Disconnect "${name}"? Its tokens are revoked and the connection is removed from this Jupyter server; add it again to reconnect.`,
        buttons: [
          Dialog.cancelButton(),
          Dialog.warnButton({ label: 'Disconnect' })
        ]
      });
      accepted = result.button.accept;
    } catch (err) {
      this._setNote(name, { kind: 'error', text: errorText(err) });
      return;
    }
    if (!accepted) {
      return;
    }
    this._busy.add(name);
    this._renderList();
    try {
      if (preset) {
        await this._api.disconnect(name);
      } else {
        await this._api.remove(name);
      }
      this._endFlow(name, true);
      this._notes.delete(name);
    } catch (err) {
      this._notes.set(name, {
        kind: 'error',
        text: `Could not disconnect: ${errorText(err)}`
      });
    } finally {
      this._busy.delete(name);
      this._renderList();
      void this.refresh();
    }
  }

  // ---- add form --------------------------------------------------------

  private _renderAddForm(): HTMLFormElement {
    const form = el('form', { className: 'aksf-add', testId: 'aksf-add-form' });
    form.noValidate = true;
    this._form = form;

    const input = (
      testId: string,
      type: string,
      placeholder: string,
      autocomplete: string
    ): HTMLInputElement => {
      const node = el('input', { className: 'jp-mod-styled aksf-input', testId });
      node.type = type;
      node.placeholder = placeholder;
      node.setAttribute('autocomplete', autocomplete);
      node.spellcheck = false;
      return node;
    };
    const field = (label: string, control: HTMLElement): HTMLLabelElement =>
      el('label', { className: 'aksf-field' }, el('span', { text: label }), control);

    const name = input('aksf-add-name', 'text', 'prod', 'off');
    const clientId = input('aksf-add-client-id', 'text', 'Consumer Key', 'off');
    const clientSecret = input(
      'aksf-add-client-secret',
      'password',
      'Consumer Secret',
      'new-password'
    );
    const loginHost = el('select', {
      className: 'jp-mod-styled aksf-input',
      testId: 'aksf-add-login-host'
    });
    const options: [LoginHostChoice, string][] = [
      ['production', `Production (${LOGIN_HOSTS.production})`],
      ['sandbox', `Sandbox (${LOGIN_HOSTS.sandbox})`],
      ['custom', 'Custom URL (My Domain)']
    ];
    for (const [value, label] of options) {
      const option = el('option', { text: label });
      option.value = value;
      loginHost.append(option);
    }
    const loginUrl = input(
      'aksf-add-login-url',
      'url',
      'https://mydomain.my.salesforce.com',
      'off'
    );
    const scopes = input('aksf-add-scopes', 'text', 'api refresh_token', 'off');
    scopes.value = 'api refresh_token';

    const loginUrlField = field('Custom login URL', loginUrl);
    loginUrlField.hidden = true;
    this._loginUrlField = loginUrlField;
    loginHost.addEventListener('change', () => {
      loginUrlField.hidden = loginHost.value !== 'custom';
      if (!loginUrlField.hidden) {
        loginUrl.focus();
      }
    });

    const error = el('div', { className: 'aksf-add-error', testId: 'aksf-add-error' });
    error.setAttribute('role', 'alert');
    error.hidden = true;
    const status = el('div', { className: 'aksf-add-status', testId: 'aksf-add-status' });
    status.setAttribute('role', 'status');
    status.hidden = true;

    const submit = el('button', {
      className: 'jp-mod-styled jp-mod-accept aksf-button',
      testId: 'aksf-add-submit',
      text: 'Save connection'
    });
    submit.type = 'submit';

    form.append(
      el('h3', { text: 'Add connection' }),
      field('Name', name),
      field('Client ID', clientId),
      field('Client Secret', clientSecret),
      field('Login host', loginHost),
      loginUrlField,
      field('Scopes', scopes),
      error,
      el('div', { className: 'aksf-actions' }, submit),
      status
    );

    this._inputs = { name, clientId, clientSecret, loginHost, loginUrl, scopes };
    this._formError = error;
    this._formStatus = status;
    this._submit = submit;

    form.addEventListener('input', () => {
      this._formTouched = true;
      this._showFormStatus('');
    });
    form.addEventListener('submit', event => {
      event.preventDefault();
      void this._submitForm();
    });
    return form;
  }

  private _markInvalid(errors: Partial<Record<FormField, string>>): void {
    const fields: [FormField, HTMLElement][] = [
      ['name', this._inputs.name],
      ['clientId', this._inputs.clientId],
      ['clientSecret', this._inputs.clientSecret],
      [
        'loginUrl',
        this._inputs.loginHost.value === 'custom'
          ? this._inputs.loginUrl
          : this._inputs.loginHost
      ],
      ['scopes', this._inputs.scopes]
    ];
    this._inputs.loginUrl.removeAttribute('aria-invalid');
    this._inputs.loginHost.removeAttribute('aria-invalid');
    let first: HTMLElement | null = null;
    for (const [key, node] of fields) {
      const message = errors[key];
      if (message) {
        node.setAttribute('aria-invalid', 'true');
        node.title = message;
        first = first ?? node;
      } else {
        node.removeAttribute('aria-invalid');
        node.removeAttribute('title');
      }
    }
    first?.focus();
  }

  private _showFormError(messages: string[]): void {
    this._formError.textContent = '';
    for (const message of messages) {
      this._formError.append(el('div', { text: message }));
    }
    this._formError.hidden = messages.length === 0;
  }

  private _showFormStatus(text: string): void {
    this._formStatus.textContent = text;
    this._formStatus.hidden = !text;
  }

  private async _submitForm(): Promise<void> {
    const inputs = this._inputs;
    this._showFormStatus('');
    const result = validateConnectionForm({
      name: inputs.name.value,
      clientId: inputs.clientId.value,
      clientSecret: inputs.clientSecret.value,
      loginHost: inputs.loginHost.value as LoginHostChoice,
      customLoginUrl: inputs.loginUrl.value,
      scopes: inputs.scopes.value
    });
    if (!result.ok) {
      this._markInvalid(result.errors);
      this._showFormError(Object.values(result.errors).filter((m): m is string => !!m));
      return;
    }
    this._markInvalid({});
    this._showFormError([]);
    this._submit.disabled = true;
    try {
      await this._api.save(result.name, result.payload);
      inputs.clientSecret.value = '';
      inputs.name.value = '';
      inputs.clientId.value = '';
      this._showFormStatus(`Saved "${result.name}". Click Authorize to connect it.`);
      await this.refresh();
    } catch (err) {
      this._showFormError([errorText(err)]);
    } finally {
      this._submit.disabled = false;
    }
  }

  private readonly _api: ConnectionsApi;
  private readonly _errorNode: HTMLElement;
  private readonly _listNode: HTMLElement;
  /**
   * Start the add form at the server's default login host and scopes, until the
   * user has typed in it.
   */
  private _applyDefaults(): void {
    const defaults = this._api.defaults;
    if (!defaults || this._formTouched) {
      return;
    }
    const { choice, customLoginUrl } = loginChoiceFor(defaults.login_url);
    this._inputs.loginHost.value = choice;
    this._inputs.loginUrl.value = customLoginUrl;
    this._loginUrlField.hidden = choice !== 'custom';
    this._inputs.scopes.value = defaults.scopes;
  }

  private _formTouched = false;
  private _loginUrlField!: HTMLElement;
  private _form!: HTMLFormElement;
  private _inputs!: {
    name: HTMLInputElement;
    clientId: HTMLInputElement;
    clientSecret: HTMLInputElement;
    loginHost: HTMLSelectElement;
    loginUrl: HTMLInputElement;
    scopes: HTMLInputElement;
  };
  private _formError!: HTMLElement;
  private _formStatus!: HTMLElement;
  private _submit!: HTMLButtonElement;
  private _connections: IConnection[] | null = null;
  private _renderedSignature = '';
  private _loading = false;
  private _reloadRequested = false;
  private _timer: ReturnType<typeof setInterval> | null = null;
  private readonly _notes = new Map<string, INote>();
  private readonly _busy = new Set<string>();
  /** Connections with a check request of this panel in flight. */
  private readonly _checking = new Set<string>();
  /** Connections whose Test button's check is in flight. */
  private readonly _testing = new Set<string>();
  private readonly _flows = new Map<string, IFlow>();
  private readonly _stopListening: () => void;
}
