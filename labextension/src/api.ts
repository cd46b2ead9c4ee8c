/**
 * Client of the server extension's REST API. Every request goes through
 * `ServerConnection.makeRequest`, so JupyterLab adds the token and XSRF header.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import {
  errorMessageFromBody,
  IConnection,
  IConnectionDefaults,
  parseAuthorizeUrl,
  parseConnection,
  parseConnectionList,
  parseDefaults
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

  /** `GET …/connections` */
  async list(): Promise<IConnection[]> {
    const body = await this._request([], { method: 'GET' });
    this.defaults = parseDefaults(body) ?? this.defaults;
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
