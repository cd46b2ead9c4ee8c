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
  /** Set up by the server's administrator: the user only authorizes it. */
  preset: boolean;
  has_tokens: boolean;
  /** The last check against Salesforce: `connected`, `reauthorization_required`,
   * `unreachable`, `failed`, or "" (none since the last authorization). */
  check_outcome: string;
  check_reason: string;
  /** When that check ended, in the server's epoch seconds; `null` for none. */
  checked_at: number | null;
}

const STATE_LABELS: Record<ConnectionState, string> = {
  not_configured: 'not configured',
  ready: 'ready to authorize',
  waiting: 'waiting for authorization',
  connected: 'connected',
  error: 'error',
  reauthorization_required: 'reauthorization required'
};

/** What a check against Salesforce adds to a connected connection's badge. */
const CHECK_LABELS: Record<string, string> = {
  checking: 'checking with Salesforce',
  unreachable: 'Salesforce unreachable',
  check_failed: 'check failed'
};

/** Human label of a state (`reauthorization_required` → `reauthorization required`). */
export function stateLabel(state: string): string {
  if (Object.prototype.hasOwnProperty.call(STATE_LABELS, state)) {
    return STATE_LABELS[state as ConnectionState];
  }
  if (Object.prototype.hasOwnProperty.call(CHECK_LABELS, state)) {
    return CHECK_LABELS[state];
  }
  return state.replace(/_/g, ' ');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function seconds(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
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
    updated_at: text(data.updated_at),
    preset: data.preset === true,
    has_tokens: data.has_tokens === true,
    check_outcome: text(data.check_outcome),
    check_reason: text(data.check_reason),
    checked_at: seconds(data.checked_at)
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

/** The server's clock and check interval, from a `GET …/connections` answer. */
export interface IServerClock {
  /** The server's time when it answered (epoch seconds). */
  now: number;
  /** Seconds between checks of a shown connection (`c.SalesforceOAuth.check_interval`). */
  checkInterval: number;
}

/** The `now` and `check_interval` of a listing, or `null` when it has none. */
export function parseServerClock(data: unknown): IServerClock | null {
  if (!isRecord(data)) {
    return null;
  }
  const now = seconds(data.now);
  const interval = seconds(data.check_interval);
  if (now === null || interval === null || interval <= 0) {
    return null;
  }
  return { now, checkInterval: interval };
}

/** What `POST …/connections/NAME/check` answered. */
export interface ICheckResult {
  outcome: string;
  reason: string;
  checkedAt: number | null;
  /** This request asked Salesforce (else: a recent result was the answer). */
  ran: boolean;
  tookMs: number;
  /** The server's time when it answered. */
  now: number | null;
  connection: IConnection | null;
}

/** The body of a check answer, or `null` when it is not one. */
export function parseCheckResult(data: unknown): ICheckResult | null {
  if (!isRecord(data) || typeof data.outcome !== 'string') {
    return null;
  }
  return {
    outcome: data.outcome,
    reason: text(data.reason),
    checkedAt: seconds(data.checked_at),
    ran: data.ran === true,
    tookMs: seconds(data.took_ms) ?? 0,
    now: seconds(data.now),
    connection: parseConnection(data.connection)
  };
}

/**
 * `just now`, `5 s ago` … `55 s ago`, `3 min ago`, `2 h ago`, `4 days ago`: in
 * steps of 5 s below a minute (the kernel's form says it the same way).
 */
export function checkedAgo(secondsAgo: number): string {
  const s = Math.max(0, secondsAgo);
  if (s < 5) {
    return 'just now';
  }
  if (s < 60) {
    return `${Math.floor(s / 5) * 5} s ago`;
  }
  if (s < 3600) {
    return `${Math.floor(s / 60)} min ago`;
  }
  if (s < 86400) {
    return `${Math.floor(s / 3600)} h ago`;
  }
  const days = Math.floor(s / 86400);
  return `${days} day${days === 1 ? '' : 's'} ago`;
}

/** What a connection's badge shows: its `state` (the badge's text and
 * `data-state`), when it was `checked`, and the `sentence` under it. */
export interface IShownState {
  state: string;
  checked: string;
  sentence: string;
}

/**
 * The state to show for `conn`: the store's, and for a connection the store
 * calls connected, what the last check against Salesforce found (as the
 * kernel's form shows it). A result older than twice `interval`, none at all,
 * or a check of this view in flight (`checking`) shows `checking`: a connected
 * badge nobody verified is not shown.
 *
 * @param now - the server's time now (epoch seconds)
 */
export function shownState(
  conn: IConnection,
  now: number,
  interval: number | null,
  checking: boolean
): IShownState {
  if (conn.state !== 'connected' || !conn.has_tokens) {
    return { state: conn.state, checked: '', sentence: conn.message };
  }
  const age = conn.checked_at === null ? null : now - conn.checked_at;
  const stale = age === null || (interval !== null && age > 2 * interval);
  if (checking || (interval !== null && stale)) {
    return {
      state: 'checking',
      checked: '',
      sentence: `${conn.message} Checking with Salesforce that the authorization still works…`
    };
  }
  if (age === null) {
    return { state: 'connected', checked: 'not checked yet', sentence: conn.message };
  }
  const when = `checked ${checkedAgo(age)}`;
  switch (conn.check_outcome) {
    case 'connected':
      return { state: 'connected', checked: when, sentence: conn.message };
    case 'unreachable':
      return {
        state: 'unreachable',
        checked: when,
        sentence: `Salesforce could not be reached: ${conn.check_reason} The authorization is kept; it is checked again shortly, or click Test.`
      };
    case 'failed':
      return {
        state: 'check_failed',
        checked: when,
        sentence: `The check against Salesforce failed: ${conn.check_reason}`
      };
    default:
      return { state: 'connected', checked: 'not checked yet', sentence: conn.message };
  }
}

/** What a Test button says about a check's result. */
export function testText(result: ICheckResult, now: number): string {
  switch (result.outcome) {
    case 'connected':
      if (result.ran) {
        return `Test passed in ${Math.round(result.tookMs)} ms: Salesforce accepts this authorization.`;
      }
      return `Test passed: Salesforce accepted this authorization (checked ${checkedAgo(
        result.checkedAt === null ? 0 : now - result.checkedAt
      )}).`;
    case 'unreachable':
      return `Test failed: Salesforce could not be reached: ${result.reason}`;
    case 'not_connected':
      return 'Nothing to test: this connection is not authorized. Click Authorize.';
    case '':
      return 'Another check of this connection is still running; try again in a moment.';
    default:
      return `Test failed: ${result.reason}`;
  }
}
