// Start loading Monaco as soon as someone shows intent to open the scratch editor or a
// workspace (pointer over, or keyboard focus on, a link to one), so it is ready sooner.

import { loadEditor } from '../editor/load-editor.js';

export function preloadEditorOnIntent() {
  const onIntent = (event) => {
    const link = event.target instanceof Element ? event.target.closest('a[href]') : null;
    const path = link ? new URL(link.href).pathname : '';
    if (path !== '/scratch' && !path.startsWith('/w/')) return;
    document.removeEventListener('pointerover', onIntent);
    document.removeEventListener('focusin', onIntent);
    loadEditor().catch(() => {
      // The editor views show the error (and the scratch view a retry) when opened.
    });
  };
  document.addEventListener('pointerover', onIntent);
  document.addEventListener('focusin', onIntent);
}
