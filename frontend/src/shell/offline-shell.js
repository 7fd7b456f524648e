// Register the service worker that lets the app open while offline (see service-worker.js),
// and tell it which assets this page loaded before it was in control.

const WORKER_URL = '/static/sw.js';

function loadedAssets() {
  return performance
    .getEntriesByType('resource')
    .map((entry) => entry.name)
    .filter((name) => name.startsWith(`${window.location.origin}/static/assets/`));
}

export function registerOfflineShell() {
  if (!('serviceWorker' in navigator) || !window.isSecureContext) return;
  const start = async () => {
    try {
      await navigator.serviceWorker.register(WORKER_URL, { scope: '/' });
      const registration = await navigator.serviceWorker.ready;
      registration.active?.postMessage({ cacheAssets: loadedAssets() });
    } catch {
      // No offline copy (blocked by the browser or a proxy): the app works online as before.
    }
  };
  // Assets loaded between registering and the worker taking control.
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    navigator.serviceWorker.controller?.postMessage({ cacheAssets: loadedAssets() });
  });
  if (document.readyState === 'complete') start();
  else window.addEventListener('load', start, { once: true });
}
