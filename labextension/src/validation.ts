/**
 * Validation of the side panel's "Add connection" form, done before anything
 * is sent to the server (the server validates again).
 *
 * Pure: no DOM, no JupyterLab imports (unit-tested under Node).
 */

/** Connection names: what the server accepts. */
export const NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** Login hosts offered in the form. */
export const LOGIN_HOSTS = {
  production: 'https://login.salesforce.com',
  sandbox: 'https://test.salesforce.com'
} as const;

/** Choice in the login host select. */
export type LoginHostChoice = keyof typeof LOGIN_HOSTS | 'custom';

/** Scopes used when the field is left empty. */
export const DEFAULT_SCOPES = 'api refresh_token';

/** Hosts for which plain `http://` is allowed (local emulator, tests). */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** What the user typed. */
export interface IConnectionFormInput {
  name: string;
  clientId: string;
  clientSecret: string;
  loginHost: LoginHostChoice;
  /** Only used when `loginHost` is `custom`. */
  customLoginUrl: string;
  scopes: string;
}

/** Body of `PUT {base}ak-salesforce/api/connections/NAME`. */
export interface IConnectionPayload {
  client_id: string;
  client_secret: string;
  login_url: string;
  scopes: string;
}

/** Form fields that can carry an error. */
export type FormField =
  | 'name'
  | 'clientId'
  | 'clientSecret'
  | 'loginUrl'
  | 'scopes';

/** Outcome of {@link validateConnectionForm}. */
export type ValidationResult =
  | { ok: true; name: string; payload: IConnectionPayload }
  | { ok: false; errors: Partial<Record<FormField, string>> };

/** @returns an error message, or `null` when the name is valid. */
export function validateConnectionName(name: string): string | null {
  const value = (name ?? '').trim();
  if (!value) {
    return 'Enter a connection name, e.g. prod.';
  }
  if (value.length > 64) {
    return 'The connection name is longer than 64 characters.';
  }
  if (!NAME_PATTERN.test(value)) {
    return 'Use only letters, digits, "_", "." and "-" in the connection name.';
  }
  return null;
}

/**
 * Check a login URL: `https://…`, or `http://` for localhost, 127.0.0.1 and
 * [::1] only. Just the origin: no path, user info, query or fragment.
 *
 * @returns the normalized URL (no trailing slash) or an error message.
 */
export function validateLoginUrl(
  raw: string
): { url: string; error?: undefined } | { url?: undefined; error: string } {
  const value = (raw ?? '').trim();
  if (!value) {
    return { error: 'Enter the login URL, e.g. https://mydomain.my.salesforce.com.' };
  }
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(value)?.[1]?.toLowerCase();
  if (scheme !== 'https' && scheme !== 'http') {
    return { error: 'The login URL must start with https://.' };
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { error: 'The login URL is not a valid URL.' };
  }
  if (!url.hostname) {
    return { error: 'The login URL has no host.' };
  }
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname.toLowerCase())) {
    return {
      error:
        'The login URL must use https:// (http:// is allowed only for localhost, 127.0.0.1 and [::1]).'
    };
  }
  if (url.username || url.password) {
    return { error: 'The login URL must not contain a user name or password.' };
  }
  if (url.search || url.hash || value.includes('?') || value.includes('#')) {
    return { error: 'The login URL must not contain "?" or "#".' };
  }
  if (url.pathname.replace(/\/+$/, '') !== '') {
    return {
      error:
        'The login URL must be just the host (no path), e.g. https://acme.my.salesforce.com.'
    };
  }
  return { url: `${url.protocol}//${url.host}` };
}

/**
 * Normalize the scopes (space separated, RFC 6749 scope tokens).
 * Empty → {@link DEFAULT_SCOPES}.
 */
export function validateScopes(
  raw: string
): { scopes: string; error?: undefined } | { scopes?: undefined; error: string } {
  const tokens = (raw ?? '').split(/\s+/).filter(t => t.length > 0);
  if (tokens.length === 0) {
    return { scopes: DEFAULT_SCOPES };
  }
  for (const token of tokens) {
    // scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
    if (!/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(token)) {
      return { error: `Invalid scope: ${JSON.stringify(token)}.` };
    }
  }
  return { scopes: Array.from(new Set(tokens)).join(' ') };
}

/** The select's choice and custom URL that stand for `loginUrl`. */
export function loginChoiceFor(loginUrl: string): {
  choice: LoginHostChoice;
  customLoginUrl: string;
} {
  const url = loginUrl.trim().replace(/\/+$/, '');
  for (const [choice, host] of Object.entries(LOGIN_HOSTS)) {
    if (url === host) {
      return { choice: choice as LoginHostChoice, customLoginUrl: '' };
    }
  }
  return { choice: 'custom', customLoginUrl: url };
}

/** The login URL a form input stands for (before validation). */
export function loginUrlFor(choice: LoginHostChoice, customLoginUrl: string): string {
  if (choice === 'custom') {
    return customLoginUrl;
  }
  return LOGIN_HOSTS[choice] ?? '';
}

/** Validate the whole form; collects every error at once. */
export function validateConnectionForm(
  input: IConnectionFormInput
): ValidationResult {
  const errors: Partial<Record<FormField, string>> = {};

  const name = (input.name ?? '').trim();
  const nameError = validateConnectionName(name);
  if (nameError) {
    errors.name = nameError;
  }

  const clientId = (input.clientId ?? '').trim();
  if (!clientId) {
    errors.clientId = 'Enter the Client ID (the Consumer Key of your Salesforce app).';
  } else if (/\s/.test(clientId)) {
    errors.clientId = 'The Client ID must not contain spaces.';
  }

  const clientSecret = (input.clientSecret ?? '').trim();
  if (!clientSecret) {
    errors.clientSecret =
      'Enter the Client Secret (the Consumer Secret of your Salesforce app).';
  }

  const known =
    input.loginHost === 'custom' ||
    Object.prototype.hasOwnProperty.call(LOGIN_HOSTS, input.loginHost);
  const login = known
    ? validateLoginUrl(loginUrlFor(input.loginHost, input.customLoginUrl))
    : { error: 'Choose a login host.' };
  if (login.error !== undefined) {
    errors.loginUrl = login.error;
  }

  const scopes = validateScopes(input.scopes);
  if (scopes.error !== undefined) {
    errors.scopes = scopes.error;
  }

  if (
    Object.keys(errors).length > 0 ||
    login.url === undefined ||
    scopes.scopes === undefined
  ) {
    return { ok: false, errors };
  }
  return {
    ok: true,
    name,
    payload: {
      client_id: clientId,
      client_secret: clientSecret,
      login_url: login.url,
      scopes: scopes.scopes
    }
  };
}
