// Load Monaco (code and stylesheet) once; later calls reuse the same promise.
// A failed load (for example a network error) can be retried.

import { loadEditorStylesheet } from './editor-stylesheet.js';

let loading = null;

export function loadEditor() {
  if (!loading) {
    loading = Promise.all([import('./monaco.js'), loadEditorStylesheet()]).then(
      ([module]) => module.monaco,
      (error) => {
        loading = null;
        throw error;
      },
    );
  }
  return loading;
}
