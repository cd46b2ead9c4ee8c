/**
 * The authorization popup: opened synchronously inside the user's click (so
 * popup blockers let it through), shows a placeholder until the server's start
 * URL is known, then navigates there.
 */
import { resolvePopupUrl } from './callbackUrl';

/** Window features of the popup. */
export const POPUP_FEATURES = 'popup,width=520,height=720';

/** How often `popup.closed` is polled (ms). */
export const POPUP_POLL_MS = 500;

/** The popup's window name for a connection (one popup per connection). */
export function popupName(connectionName: string): string {
  return `ak-salesforce-nb-${connectionName}`;
}

/**
 * Replace the popup's content with a short sentence. Only works while the
 * popup shows our own same-origin placeholder; silently does nothing else.
 */
export function writePopupText(popup: Window, text: string): void {
  try {
    const doc = popup.document;
    doc.title = 'Salesforce authorization';
    const body = doc.body ?? doc.documentElement.appendChild(doc.createElement('body'));
    body.textContent = '';
    body.style.fontFamily = 'system-ui, -apple-system, "Segoe UI", sans-serif';
    body.style.margin = '2em';
    body.style.color = '#333';
    const p = doc.createElement('p');
    p.textContent = text;
    body.appendChild(p);
  } catch {
    // The window shows another origin (e.g. Salesforce): leave it alone.
  }
}

/**
 * Open (or reuse) the popup for `connectionName`, showing a placeholder.
 * Must be called synchronously from a user gesture.
 *
 * @returns the window, or `null` when the browser blocked it.
 */
export function openAuthPopup(connectionName: string): Window | null {
  // A popup whose flow already ended (waiting for closePopupSoon) is done:
  // close it now, so this click gets a fresh window rather than reusing it.
  const finished = finishedPopups.get(connectionName);
  if (finished) {
    finishedPopups.delete(connectionName);
    closePopup(finished);
  }
  let popup: Window | null = null;
  try {
    popup = window.open('', popupName(connectionName), POPUP_FEATURES);
  } catch {
    popup = null;
  }
  if (!popup) {
    return null;
  }
  let reusedForeign = false;
  try {
    // Throws when a reused popup is on another origin (still at Salesforce).
    void popup.document.body;
  } catch {
    reusedForeign = true;
  }
  if (!reusedForeign) {
    writePopupText(popup, 'Contacting Salesforce…');
  }
  try {
    popup.focus();
  } catch {
    // ignore
  }
  return popup;
}

/**
 * Send the popup to `url` (resolved against this page; http(s) only).
 *
 * @returns whether the popup was navigated.
 */
export function navigatePopup(popup: Window, url: string): boolean {
  const target = resolvePopupUrl(url, window.location.href);
  if (!target || popup.closed) {
    return false;
  }
  try {
    popup.location.href = target;
    return true;
  } catch {
    return false;
  }
}

/**
 * How long a popup may stay open after its result arrived (ms). The callback
 * page closes itself after a success; this also closes it after an error,
 * once the user had a moment to see it (the form and panel show it too).
 */
export const CLOSE_AFTER_RESULT_MS = 3000;

/** Popups whose flow ended, by connection name, until they are closed. */
const finishedPopups = new Map<string, Window>();

/**
 * Close the popup of `connectionName` after {@link CLOSE_AFTER_RESULT_MS}, if
 * it is still open then (or at the next {@link openAuthPopup} for that name).
 */
export function closePopupSoon(
  connectionName: string,
  popup: Window | null,
  delayMs: number = CLOSE_AFTER_RESULT_MS
): void {
  if (!popup) {
    return;
  }
  finishedPopups.set(connectionName, popup);
  setTimeout(() => {
    if (finishedPopups.get(connectionName) === popup) {
      finishedPopups.delete(connectionName);
    }
    closePopup(popup);
  }, delayMs);
}

/** Close the popup if it is still open. */
export function closePopup(popup: Window | null): void {
  if (popup && !popup.closed) {
    try {
      popup.close();
    } catch {
      // ignore
    }
  }
}

/**
 * Call `onClosed` once when `popup.closed` becomes true (polled every
 * {@link POPUP_POLL_MS} ms).
 *
 * Note: a page with Cross-Origin-Opener-Policy in the popup can make
 * `popup.closed` read true while the window is still open; callers keep
 * listening for the callback's message after `onClosed`.
 *
 * @returns a function that stops watching.
 */
export function watchPopup(popup: Window, onClosed: () => void): () => void {
  let timer: ReturnType<typeof setInterval> | null = setInterval(() => {
    let closed = true;
    try {
      closed = popup.closed;
    } catch {
      closed = true;
    }
    if (closed) {
      stop();
      onClosed();
    }
  }, POPUP_POLL_MS);
  const stop = (): void => {
    if (timer !== null) {
      clearInterval(timer);
      timer = null;
    }
  };
  return stop;
}
