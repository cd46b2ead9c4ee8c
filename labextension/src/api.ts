/**
 * Client of the server extension's REST API. Every request goes through
 * `ServerConnection.makeRequest`, so JupyterLab adds the token and XSRF header.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import {
  errorMessageFromBody,
  ICheckResult,
  IConnection,
  IConnectionDefaults,
  parseAuthorizeUrl,
  parseCheckResult,
  parseConnection,
  parseConnectionList,
  parseDefaults,
  parseServerClock
} from './connections';
import { IConnectionPayload } from './validation';

/** A failed API call, with a message fit to show to the user. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number = 0
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Calls the `{base}ak-salesforce/api/connections` endpoints. */
export class ConnectionsApi {
  constructor(settings?: ServerConnection.ISettings) {
    this._settings = settings ?? ServerConnection.makeSettings();
  }

  /** The server's defaults for new connections, as of the last `list()`. */
  defaults: IConnectionDefaults | null = null;

  /** Seconds between checks of a shown connection (the server's setting). */
  checkInterval: number | null = null;

  /** The server's clock minus this browser's, in seconds (`checked_at` is the
   * server's time). */
  clockOffset = 0;

  /** The server's time now, in epoch seconds. */
  serverNow(): number {
    return Date.now() / 1000 + this.clockOffset;
  }

  /** `GET …/connections` */
  async list(): Promise<IConnection[]> {
    const body = await this._request([], { method: 'GET' });
    this.defaults = parseDefaults(body) ?? this.defaults;
    const clock = parseServerClock(body);
    if (clock) {
      this.clockOffset = clock.now - Date.now() / 1000;
      this.checkInterval = clock.checkInterval;
    }
    try {
      return parseConnectionList(body);
    } catch (err) {
      throw new ApiError((err as Error).message);
    }
  }

  /** `PUT …/connections/NAME` */
  async save(name: string, payload: IConnectionPayload): Promise<IConnection | null> {
    const body = await this._request([name], {
      method: 'PUT',
      body: JSON.stringify(payload),
      headers: { 'Content-Type': 'application/json' }
    });
    return parseConnection(body);
  }

  /** `POST …/connections/NAME/authorize` → the server-relative start URL. */
  async authorize(name: string): Promise<string> {
    const body = await this._request([name, 'authorize'], {
      method: 'POST',
      body: '{}',
      headers: { 'Content-Type': 'application/json' }
    });
    const url = parseAuthorizeUrl(body);
    if (!url) {
      throw new ApiError('The server did not return an authorization URL.');
    }
    return url;
  }

  /**
   * `POST …/connections/NAME/check`: the connection checked against Salesforce
   * (`force`: a Test button; else a recent result may be the answer).
   */
  async check(name: string, force = false): Promise<ICheckResult> {
    const body = await this._request([name, 'check'], {
      method: 'POST',
      body: force ? '{"force": true}' : '',
      headers: { 'Content-Type': 'application/json' }
    });
    const result = parseCheckResult(body);
    if (!result) {
      throw new ApiError('The server did not return the result of the check.');
    }
    if (result.now !== null) {
      this.clockOffset = result.now - Date.now() / 1000;
    }
    return result;
  }

  /** `POST …/connections/NAME/disconnect`: sign out, keep the connection. */
  async disconnect(name: string): Promise<IConnection | null> {
    const body = await this._request([name, 'disconnect'], {
      method: 'POST',
      body: '{}',
      headers: { 'Content-Type': 'application/json' }
    });
    return parseConnection(body);
  }

  /** `DELETE …/connections/NAME` */
  async remove(name: string): Promise<void> {
    await this._request([name], { method: 'DELETE' });
  }

  private async _request(parts: string[], init: RequestInit): Promise<unknown> {
    const url = URLExt.join(
      this._settings.baseUrl,
      'ak-salesforce/api/connections',
      ...parts.map(encodeURIComponent)
    );
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this._settings);
    } catch (err) {
      throw new ApiError(
        `Could not reach the Jupyter server: ${(err as Error)?.message ?? err}`
      );
    }
    let text = '';
    try {
      text = await response.text();
    } catch {
      // keep ""
    }
    if (!response.ok) {
      throw new ApiError(
        errorMessageFromBody(response.status, response.statusText, text),
        response.status
      );
    }
    if (!text) {
      return null;
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new ApiError('The server answered with something that is not JSON.');
    }
  }

  private readonly _settings: ServerConnection.ISettings;
}
