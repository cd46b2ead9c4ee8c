/**
 * The OAuth callback ("redirect") URL(s) a user registers in the Salesforce app.
 *
 * Pure: no DOM, no JupyterLab imports (unit-tested under Node).
 */

/** Path of the callback handler, relative to the server's base URL. */
export const CALLBACK_PATH = 'oauth/redirect/salesforce';

/** Inputs, normally read from the page (`window.location`, `PageConfig`). */
export interface ICallbackUrlOptions {
  /** The page's origin, e.g. `https://jupyter.example.com`. */
  origin: string;
  /**
   * The server's base URL: a path (`/user/ada/`) or an absolute URL
   * (`PageConfig.getBaseUrl()` returns `http://host/base/`).
   */
  baseUrl: string;
  /** JupyterHub's prefix (`/hub/`); empty or missing outside JupyterHub. */
  hubPrefix?: string;
  /** JupyterHub's host (`https://hub.example.com`), empty unless subdomains are used. */
  hubHost?: string;
  /** JupyterHub user name (only tells that the page runs under JupyterHub). */
  hubUser?: string;
}

/** One callback URL, with what it is for. */
export interface ICallbackUrl {
  url: string;
  /** `hub`: works for every user of the hub; `server`: this server only. */
  kind: 'hub' | 'server';
  /** Short explanation to show next to the URL. */
  label: string;
}

/** `a/b`, `/a/b`, `/a//b/` → `/a/b/`; empty → `/`. */
export function normalizePath(path: string): string {
  const parts = path.split('/').filter(p => p.length > 0);
  return parts.length ? `/${parts.join('/')}/` : '/';
}

function stripTrailingSlashes(value: string): string {
  return value.replace(/\/+$/, '');
}

function hasScheme(value: string): boolean {
  return /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(value);
}

/** Path part of a base URL given either as a path or as an absolute URL. */
function basePath(baseUrl: string): string {
  const trimmed = (baseUrl || '').trim();
  if (hasScheme(trimmed)) {
    try {
      return normalizePath(new URL(trimmed).pathname);
    } catch {
      // fall through: treat it as a path
    }
  }
  return normalizePath(trimmed);
}

/** `https://hub.example.com/` → `https://hub.example.com`; `hub.example.com` gets the page's scheme. */
function hubOrigin(hubHost: string, origin: string): string {
  const host = stripTrailingSlashes(hubHost.trim());
  if (!host) {
    return origin;
  }
  if (hasScheme(host)) {
    return host;
  }
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*:)\/\//.exec(origin)?.[1] ?? 'https:';
  return `${scheme}//${host.replace(/^\/+/, '')}`;
}

/**
 * The callback URLs to register, the recommended one first.
 *
 * - Always: `${origin}${baseUrl}oauth/redirect/salesforce`.
 * - Under JupyterHub (a non-empty `hubPrefix`), first:
 *   `${hubHost || origin}${hubPrefix}user-redirect/oauth/redirect/salesforce`,
 *   one URL that serves every user of the hub.
 */
export function describeCallbackUrls(
  options: ICallbackUrlOptions
): ICallbackUrl[] {
  const origin = stripTrailingSlashes((options.origin || '').trim());
  const urls: ICallbackUrl[] = [];
  const hubPrefix = (options.hubPrefix || '').trim();
  if (hubPrefix) {
    const host = hubOrigin(options.hubHost || '', origin);
    urls.push({
      url: `${host}${normalizePath(hubPrefix)}user-redirect/${CALLBACK_PATH}`,
      kind: 'hub',
      label: 'Recommended on JupyterHub: works for every user of this hub'
    });
  }
  urls.push({
    url: `${origin}${basePath(options.baseUrl)}${CALLBACK_PATH}`,
    kind: 'server',
    label: hubPrefix ? 'This user server only' : 'This Jupyter server'
  });
  return urls;
}

/** The callback URLs to register (strings), the recommended one first. */
export function computeCallbackUrls(options: ICallbackUrlOptions): string[] {
  return describeCallbackUrls(options).map(u => u.url);
}

/**
 * Resolve the URL the popup is sent to (the server's OAuth start URL,
 * normally server-relative like `/base/oauth/start/salesforce?state=…`)
 * against the page's URL. Only http(s) URLs are allowed.
 *
 * @returns the absolute URL, or `null` when it must not be opened.
 */
export function resolvePopupUrl(url: unknown, pageHref: string): string | null {
  if (typeof url !== 'string' || !url.trim()) {
    return null;
  }
  let resolved: URL;
  try {
    resolved = new URL(url.trim(), pageHref);
  } catch {
    return null;
  }
  if (resolved.protocol !== 'https:' && resolved.protocol !== 'http:') {
    return null;
  }
  return resolved.href;
}
