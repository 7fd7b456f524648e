// Monaco's stylesheet is only needed once an editor is shown. index.html names its
// hashed URL in <meta name="collabcode:editor-stylesheet">; this adds it on demand.

let loading = null;

export function loadEditorStylesheet() {
  if (loading) return loading;
  const href = document.querySelector('meta[name="collabcode:editor-stylesheet"]')?.content;
  if (!href) return Promise.reject(new Error('the editor stylesheet is not listed in the page'));
  loading = new Promise((resolve, reject) => {
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = href;
    link.dataset.editorStylesheet = '';
    link.addEventListener('load', () => resolve(), { once: true });
    link.addEventListener(
      'error',
      () => {
        link.remove();
        loading = null;
        reject(new Error('the editor stylesheet failed to load'));
      },
      { once: true },
    );
    document.head.append(link);
  });
  return loading;
}
