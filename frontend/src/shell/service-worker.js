// The service worker (built to /static/sw.js, registered with scope "/"): it lets the app
// shell open while the browser is offline, so edits kept in IndexedDB are not stuck behind an
// error page. It caches only what every visitor gets alike: the page (index.html) and the
// content-hashed files under /static/assets/. API calls, sockets and downloads are never
// touched, and nothing about a user is ever stored here.
//
// - Page loads (navigations to app routes): network first, so a new release is picked up at
//   once; the answer is kept as the offline copy. Offline, the kept copy is served.
// - /static/assets/*: cache first (their names change whenever their content does).

const CACHE = 'collabcode-shell-v1';
const SHELL_KEY = '/';
const ASSETS = '/static/assets/';
const MAX_ASSETS = 400;
// Paths served by the server itself, never by the app shell.
const NOT_APP = /^\/(?:api|ws|static|healthz|readyz|metrics)(?:\/|$)/;

const scope = /** @type {ServiceWorkerGlobalScope} */ (/** @type {unknown} */ (self));

function sameOrigin(url) {
  return url.origin === scope.location.origin;
}

/** The asset URLs an index.html refers to (stylesheet, entry, preloads, icon). */
function assetsOf(html) {
  const urls = new Set();
  for (const match of html.matchAll(/(?:src|href|content)="(\/static\/assets\/[^"?#]+)"/g)) urls.add(match[1]);
  return [...urls];
}

async function keepShell(response) {
  const cache = await caches.open(CACHE);
  await cache.put(SHELL_KEY, response.clone());
  const html = await response.text();
  await Promise.all(
    assetsOf(html).map(async (url) => {
      if (await cache.match(url)) return;
      const asset = await fetch(url);
      if (asset.ok) await cache.put(url, asset);
    }),
  );
  await trim(cache);
}

/** Drop the oldest assets beyond the limit (old releases' files). */
async function trim(cache) {
  const keys = (await cache.keys()).filter((request) => new URL(request.url).pathname.startsWith(ASSETS));
  await Promise.all(keys.slice(0, Math.max(0, keys.length - MAX_ASSETS)).map((request) => cache.delete(request)));
}

scope.addEventListener('install', (event) => {
  event.waitUntil(
    fetch(SHELL_KEY, { cache: 'no-cache' })
      .then((response) => (response.ok ? keepShell(response) : undefined))
      .catch(() => undefined)
      .then(() => scope.skipWaiting()),
  );
});

scope.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => name.startsWith('collabcode-') && name !== CACHE).map((name) => caches.delete(name))))
      .then(() => scope.clients.claim()),
  );
});

async function navigation(event) {
  try {
    const response = await fetch(event.request);
    const type = response.headers.get('content-type') ?? '';
    if (response.ok && !response.redirected && type.startsWith('text/html')) {
      // Keep the copy without holding up the page.
      event.waitUntil(keepShell(response.clone()).catch(() => undefined));
    }
    return response;
  } catch (error) {
    const cached = await caches.match(SHELL_KEY, { cacheName: CACHE });
    if (cached) return cached;
    throw error;
  }
}

async function asset(request) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok && response.type === 'basic') await cache.put(request, response.clone());
  return response;
}

scope.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (!sameOrigin(url)) return;
  if (request.mode === 'navigate' && !NOT_APP.test(url.pathname)) event.respondWith(navigation(event));
  else if (url.pathname.startsWith(ASSETS) && !url.search) event.respondWith(asset(request));
});

// The page tells us which assets it already loaded before we controlled it (the lazily
// loaded editor, say), so they are there offline too.
scope.addEventListener('message', (event) => {
  const urls = Array.isArray(event.data?.cacheAssets) ? event.data.cacheAssets : [];
  const wanted = urls
    .filter((value) => typeof value === 'string')
    .map((value) => new URL(value, scope.location.origin))
    .filter((url) => sameOrigin(url) && url.pathname.startsWith(ASSETS) && !url.search)
    .slice(0, MAX_ASSETS);
  event.waitUntil(
    caches.open(CACHE).then((cache) =>
      Promise.all(
        wanted.map(async (url) => {
          if (await cache.match(url.pathname)) return;
          const response = await fetch(url.pathname).catch(() => null);
          if (response?.ok) await cache.put(url.pathname, response);
        }),
      ),
    ),
  );
});
