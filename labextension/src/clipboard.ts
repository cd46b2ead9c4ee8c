/**
 * Copy to the clipboard: `navigator.clipboard` where allowed (secure
 * contexts), else a hidden textarea and `document.execCommand('copy')`.
 */

function copyWithTextarea(text: string): boolean {
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.top = '0';
  area.style.left = '-9999px';
  area.style.opacity = '0';
  document.body.appendChild(area);
  const selection = document.getSelection();
  const previous = selection && selection.rangeCount > 0 ? selection.getRangeAt(0) : null;
  area.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  document.body.removeChild(area);
  if (previous && selection) {
    selection.removeAllRanges();
    selection.addRange(previous);
  }
  return ok;
}

/** Copy `text`; resolves to whether it worked (never rejects). */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall back below
  }
  return copyWithTextarea(text);
}

/** Select the text of `el` so the user can copy it by hand. */
function selectText(el: HTMLElement): void {
  const selection = document.getSelection();
  if (!selection) {
    return;
  }
  const range = document.createRange();
  range.selectNodeContents(el);
  selection.removeAllRanges();
  selection.addRange(range);
}

/**
 * A small "Copy" button for `getText()`; shows "Copied" for a moment, or
 * selects `selectOnFailure` when copying is not possible.
 */
export function createCopyButton(
  getText: () => string,
  selectOnFailure?: () => HTMLElement | null,
  testId?: string
): HTMLButtonElement {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'aksf-copy-button';
  button.textContent = 'Copy';
  button.title = 'Copy to the clipboard';
  if (testId) {
    button.dataset.testid = testId;
  }
  let timer: ReturnType<typeof setTimeout> | null = null;
  button.addEventListener('click', event => {
    event.preventDefault();
    event.stopPropagation();
    void copyText(getText()).then(ok => {
      if (!ok) {
        const el = selectOnFailure?.();
        if (el) {
          selectText(el);
        }
      }
      button.textContent = ok ? 'Copied' : 'Press Ctrl+C';
      if (timer !== null) {
        clearTimeout(timer);
      }
      timer = setTimeout(() => {
        button.textContent = 'Copy';
        timer = null;
      }, 1500);
    });
  });
  return button;
}
