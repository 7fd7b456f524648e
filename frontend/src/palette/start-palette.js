// Ctrl+K (Cmd+K on macOS) opens the command palette anywhere in the app once signed in,
// also over the code editor (caught in the capture phase, before Monaco's own Ctrl+K chords).
// A "Go to…" button in the header opens it too.

import { getSession, onSessionChange } from '../auth/session.js';
import { h } from '../dom.js';
import { clearPaletteCache } from './sources.js';
import { openPalette, resetPalette } from './palette.js';

/** In-app navigation through the router's popstate handling. */
function navigate(href) {
  const url = new URL(href, window.location.href);
  if (url.pathname + url.search === window.location.pathname + window.location.search) return;
  history.pushState(null, '', url);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

function isPaletteKey(event) {
  return (event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey && String(event.key ?? '').toLowerCase() === 'k';
}

function headerButton() {
  const isMac = /Mac|iPhone|iPad/.test(navigator.platform ?? '');
  return h(
    'button',
    {
      type: 'button',
      class: 'hidden items-center gap-2 rounded-md border border-line px-2.5 py-1.5 text-sm text-muted hover:bg-subtle hover:text-fg lg:flex',
      'aria-keyshortcuts': isMac ? 'Meta+K' : 'Control+K',
      'aria-haspopup': 'dialog',
      dataset: { paletteButton: '' },
      onClick: () => openPalette(navigate),
    },
    h('span', null, 'Go to…'),
    h('kbd', { class: 'rounded border border-line bg-subtle px-1 font-mono text-xs', 'aria-hidden': 'true' }, isMac ? '⌘K' : 'Ctrl K'),
  );
}

export function startPalette() {
  const button = headerButton();
  let userId = null;
  const render = (state) => {
    const signedIn = state.status === 'signed-in';
    const id = signedIn ? state.user?.id ?? null : null;
    if (id !== userId) {
      resetPalette();
      clearPaletteCache();
      userId = id;
    }
    if (signedIn && !button.isConnected) document.querySelector('[data-account-area]')?.before(button);
    if (!signedIn) button.remove();
  };
  render(getSession());
  onSessionChange(render);

  window.addEventListener(
    'keydown',
    (event) => {
      if (!isPaletteKey(event) || getSession().status !== 'signed-in') return;
      event.preventDefault();
      event.stopPropagation();
      openPalette(navigate);
    },
    { capture: true },
  );
}
