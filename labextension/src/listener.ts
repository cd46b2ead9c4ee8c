/**
 * Listen for the OAuth callback page's result on both channels it uses:
 * the same-origin BroadcastChannel and `window.postMessage` from the popup.
 */
import {
  IOAuthMessage,
  MessageDeduplicator,
  OAUTH_CHANNEL_NAME,
  parseOAuthMessage
} from './messages';

/** Options of {@link listenForOAuthResults}. */
export interface IListenOptions {
  /** Only accept messages for this connection (read at each message). */
  expectedName?: () => string | undefined;
}

/**
 * Call `onResult` once per valid OAuth result (copies arriving on both
 * channels are delivered once).
 *
 * @returns a function that stops listening.
 */
export function listenForOAuthResults(
  onResult: (msg: IOAuthMessage) => void,
  options: IListenOptions = {}
): () => void {
  const pageOrigin = window.location.origin;
  const dedupe = new MessageDeduplicator();
  const handle = (data: unknown, origin: string): void => {
    const expected = options.expectedName?.();
    const msg = parseOAuthMessage(data, origin, pageOrigin, expected);
    if (msg && dedupe.accept(msg)) {
      onResult(msg);
    }
  };

  const onWindowMessage = (event: MessageEvent): void => {
    handle(event.data, event.origin);
  };
  window.addEventListener('message', onWindowMessage);

  let channel: BroadcastChannel | null = null;
  if (typeof BroadcastChannel !== 'undefined') {
    try {
      channel = new BroadcastChannel(OAUTH_CHANNEL_NAME);
      // A BroadcastChannel only connects same-origin contexts; its events
      // carry the sender's origin (fall back to ours where a browser omits it).
      channel.onmessage = (event: MessageEvent) => {
        handle(event.data, event.origin || pageOrigin);
      };
    } catch {
      channel = null;
    }
  }

  return () => {
    window.removeEventListener('message', onWindowMessage);
    if (channel) {
      channel.onmessage = null;
      channel.close();
      channel = null;
    }
  };
}
