// Start loading Monaco as soon as someone shows intent to open the scratch editor
// (pointer over, or keyboard focus on, a link to it), so it is ready sooner.

import { loadEditor } from '../editor/load-editor.js';

export function preloadEditorOnIntent() {
  const onIntent = (event) => {
    const link = event.target instanceof Element ? event.target.closest('a[href]') : null;
    if (!link || new URL(link.href).pathname !== '/scratch') return;
    document.removeEventListener('pointerover', onIntent);
    document.removeEventListener('focusin', onIntent);
    loadEditor().catch(() => {
      // The scratch view shows the error and offers a retry when it is opened.
    });
  };
  document.addEventListener('pointerover', onIntent);
  document.addEventListener('focusin', onIntent);
}
