/**
 * Shapes of the server's REST API (`{base}ak-salesforce/api/connections`),
 * parsed defensively.
 *
 * Pure: no DOM, no JupyterLab imports (unit-tested under Node).
 */

/** States the server reports. */
export const CONNECTION_STATES = [
  'not_configured',
  'ready',
  'waiting',
  'connected',
  'error',
  'reauthorization_required'
] as const;

/** A known connection state. */
export type ConnectionState = (typeof CONNECTION_STATES)[number];

/** A connection as the panel shows it (missing fields become ""). */
export interface IConnection {
  name: string;
  /** One of {@link CONNECTION_STATES}, or a state this version does not know. */
  state: string;
  message: string;
  client_id: string;
  login_url: string;
  scopes: string;
  callback_url: string;
  instance_url: string;
  username: string;
  display_name: string;
  organization_id: string;
  organization_name: string;
  user_id: string;
  updated_at: string;
}

const STATE_LABELS: Record<ConnectionState, string> = {
  not_configured: 'not configured',
  ready: 'ready to authorize',
  waiting: 'waiting for authorization',
  connected: 'connected',
  error: 'error',
  reauthorization_required: 'reauthorization required'
};

/** Human label of a state (`reauthorization_required` → `reauthorization required`). */
export function stateLabel(state: string): string {
  return Object.prototype.hasOwnProperty.call(STATE_LABELS, state)
    ? STATE_LABELS[state as ConnectionState]
    : state.replace(/_/g, ' ');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown): string {
  if (typeof value === 'string') {
    return value;
  }
  if (typeof value === 'number' && Number.isFinite(value)) {
    return String(value);
  }
  if (Array.isArray(value)) {
    return value.filter(v => typeof v === 'string').join(' ');
  }
  return '';
}

/** One connection object, or `null` when it has no usable name. */
export function parseConnection(data: unknown): IConnection | null {
  if (!isRecord(data)) {
    return null;
  }
  const name = text(data.name);
  if (!name) {
    return null;
  }
  return {
    name,
    state: text(data.state) || 'not_configured',
    message: text(data.message),
    client_id: text(data.client_id),
    login_url: text(data.login_url),
    scopes: text(data.scopes),
    callback_url: text(data.callback_url),
    instance_url: text(data.instance_url),
    username: text(data.username),
    display_name: text(data.display_name),
    organization_id: text(data.organization_id),
    organization_name: text(data.organization_name),
    user_id: text(data.user_id),
    updated_at: text(data.updated_at)
  };
}

/**
 * The body of `GET …/connections` (`{"connections": [...]}`), sorted by name.
 *
 * @throws Error when the body does not have that shape.
 */
export function parseConnectionList(data: unknown): IConnection[] {
  if (!isRecord(data) || !Array.isArray(data.connections)) {
    throw new Error('Unexpected answer from the server (no "connections" list).');
  }
  const list: IConnection[] = [];
  for (const item of data.connections) {
    const conn = parseConnection(item);
    if (conn) {
      list.push(conn);
    }
  }
  return list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** What the server starts new connections with (`c.SalesforceOAuth.default_*`). */
export interface IConnectionDefaults {
  login_url: string;
  scopes: string;
}

/** The `defaults` of a `GET …/connections` answer, or `null` when it has none. */
export function parseDefaults(data: unknown): IConnectionDefaults | null {
  if (!isRecord(data) || !isRecord(data.defaults)) {
    return null;
  }
  const { login_url: loginUrl, scopes } = data.defaults;
  if (typeof loginUrl !== 'string' || typeof scopes !== 'string' || !loginUrl || !scopes) {
    return null;
  }
  return { login_url: loginUrl, scopes };
}

/** The `authorize_url` of a `POST …/authorize` answer, or `null`. */
export function parseAuthorizeUrl(data: unknown): string | null {
  if (!isRecord(data)) {
    return null;
  }
  const url = data.authorize_url;
  return typeof url === 'string' && url.length > 0 ? url : null;
}

/**
 * The message to show for a failed request: the server's `{"message": …}`
 * when there is one, else a generic sentence with the status.
 */
export function errorMessageFromBody(
  status: number,
  statusText: string,
  body: string
): string {
  let parsed: unknown = undefined;
  try {
    parsed = JSON.parse(body);
  } catch {
    // not JSON
  }
  if (isRecord(parsed)) {
    for (const key of ['message', 'reason', 'error']) {
      const value = parsed[key];
      if (typeof value === 'string' && value.trim()) {
        return value.trim();
      }
    }
  }
  if (status === 404) {
    return 'The ak_salesforce_nb server extension did not answer (HTTP 404). Is it installed and enabled on this Jupyter server?';
  }
  if (status === 403) {
    return 'The Jupyter server refused the request (HTTP 403). Reload the page and try again.';
  }
  return `The Jupyter server answered HTTP ${status}${statusText ? ` ${statusText}` : ''}.`;
}
