// The `next` parameter of /signin: where to go after signing in. Only a path on this
// origin is accepted ("/settings/account?tab=1"); absolute URLs, protocol-relative
// "//host" and backslash tricks fall back to the home page.

const AUTH_PAGES = new Set(['/signin', '/signup', '/setup', '/check-email', '/forgot-password', '/reset-password']);

export function safeNextPath(raw, fallback = '/') {
  if (typeof raw !== 'string' || !raw.startsWith('/') || raw.startsWith('//')) return fallback;
  if (/[\\\u0000-\u001f\u007f]/.test(raw)) return fallback;
  let url;
  try {
    url = new URL(raw, window.location.origin);
  } catch {
    return fallback;
  }
  if (url.origin !== window.location.origin || url.pathname.startsWith('//')) return fallback;
  if (AUTH_PAGES.has(url.pathname)) return fallback;
  return url.pathname + url.search + url.hash;
}

/** The sign-in page that comes back to `next` (a path on this origin) afterwards. */
export function signinHref(next) {
  const safe = safeNextPath(next, '');
  if (!safe || safe === '/') return '/signin';
  // "/" may stay unescaped in a query string; the rest is encoded.
  return `/signin?next=${encodeURIComponent(safe).replace(/%2F/gi, '/')}`;
}
