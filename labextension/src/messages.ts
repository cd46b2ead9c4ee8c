/**
 * The message the OAuth callback page announces when an authorization ends.
 *
 * The callback page is served by the Jupyter server (same origin as this page).
 * It posts the message on the same-origin `BroadcastChannel` named
 * {@link OAUTH_CHANNEL_NAME} and to `window.opener` (own origin only).
 *
 * This module is pure (no DOM, no JupyterLab imports) so it can be unit-tested
 * under Node.
 */

/** Name of the BroadcastChannel the callback page posts on. */
export const OAUTH_CHANNEL_NAME = 'ak-salesforce-nb';

/** Value of the `type` field of every OAuth result message. */
export const OAUTH_MESSAGE_TYPE = 'ak-salesforce-nb:oauth';

/** Final states an authorization can announce. */
export type OAuthResultState = 'connected' | 'error';

/** A validated OAuth result message. */
export interface IOAuthMessage {
  type: typeof OAUTH_MESSAGE_TYPE;
  /** Connection name. */
  name: string;
  state: OAuthResultState;
  /** Human readable detail (optional). */
  message?: string;
}

/** Longest connection name accepted in a message. */
const MAX_NAME_LENGTH = 200;

/** Longest `message` kept from a message (longer ones are cut). */
const MAX_MESSAGE_LENGTH = 1000;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return false;
  }
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Validate a message received from `window.postMessage` or the
 * BroadcastChannel.
 *
 * @param data - the event's `data` (anything).
 * @param origin - the event's `origin`.
 * @param pageOrigin - this page's origin (`window.location.origin`).
 * @param expectedName - when given, the message must be for this connection.
 * @returns the message, or `null` when it must be ignored.
 */
export function parseOAuthMessage(
  data: unknown,
  origin: string,
  pageOrigin: string,
  expectedName?: string
): IOAuthMessage | null {
  // An opaque origin ("null") never matches: compare the strings exactly.
  if (
    typeof origin !== 'string' ||
    typeof pageOrigin !== 'string' ||
    !pageOrigin ||
    pageOrigin === 'null' ||
    origin !== pageOrigin
  ) {
    return null;
  }
  if (!isPlainObject(data)) {
    return null;
  }
  const { type, name, state, message } = data;
  if (type !== OAUTH_MESSAGE_TYPE) {
    return null;
  }
  if (
    typeof name !== 'string' ||
    name.length === 0 ||
    name.length > MAX_NAME_LENGTH
  ) {
    return null;
  }
  if (expectedName !== undefined && name !== expectedName) {
    return null;
  }
  if (state !== 'connected' && state !== 'error') {
    return null;
  }
  if (message !== undefined && message !== null && typeof message !== 'string') {
    return null;
  }
  const result: IOAuthMessage = { type: OAUTH_MESSAGE_TYPE, name, state };
  if (typeof message === 'string' && message.length > 0) {
    result.message = message.slice(0, MAX_MESSAGE_LENGTH);
  }
  return result;
}

/**
 * Drops the second copy of a message: the callback page announces each result
 * twice (BroadcastChannel and postMessage), and both usually arrive.
 */
export class MessageDeduplicator {
  /**
   * @param windowMs - copies arriving within this many ms are dropped.
   * @param now - clock (injectable for tests).
   */
  constructor(
    private readonly _windowMs = 3000,
    private readonly _now: () => number = () => Date.now()
  ) {}

  /** Whether `msg` is a fresh message (true) or a copy to drop (false). */
  accept(msg: IOAuthMessage): boolean {
    const key = JSON.stringify([msg.name, msg.state, msg.message ?? '']);
    const now = this._now();
    for (const [k, t] of this._seen) {
      if (now - t > this._windowMs) {
        this._seen.delete(k);
      }
    }
    if (this._seen.has(key)) {
      return false;
    }
    this._seen.set(key, now);
    return true;
  }

  private readonly _seen = new Map<string, number>();
}
