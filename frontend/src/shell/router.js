// History-API router. Links stay real <a href> elements: a plain click on a link to a
// known route is handled in the page, everything else (new tab, other origins, files
// under /static/, in-page #anchors) keeps the browser's default behaviour.

import { setPageTitle } from './page-title.js';
import { highlightNav } from './nav-highlight.js';

/**
 * @param {object} options
 * @param {Record<string, {title: string, render: Function}>} options.routes  path -> view
 * @param {Array<{pattern: RegExp, view: object}>} [options.patterns]  views for paths with
 *   ids in them, tried in order when no exact route matches
 * @param {{title: string, render: Function}} options.notFound  view for unknown paths
 * @param {HTMLElement} options.outlet  element the views render into
 */
export function startRouter({ routes, patterns = [], notFound, outlet }) {
  /** The view for `path`: an exact route, else the first pattern that matches. */
  function viewFor(path) {
    if (Object.hasOwn(routes, path)) return routes[path];
    return patterns.find(({ pattern }) => pattern.test(path))?.view ?? null;
  }

  let current = null; // { path, controller }

  function normalise(pathname) {
    return pathname.length > 1 ? pathname.replace(/\/+$/, '') || '/' : pathname;
  }

  function render({ focus }) {
    const path = normalise(window.location.pathname);
    if (path !== window.location.pathname) {
      history.replaceState(history.state, '', path + window.location.search + window.location.hash);
    }
    current?.controller.abort();
    const controller = new AbortController();
    current = { path, controller };

    const view = viewFor(path) ?? notFound;
    outlet.replaceChildren();
    setPageTitle(view.title);
    highlightNav(path);
    view.render(outlet, { signal: controller.signal, path, navigate });

    if (focus) {
      window.scrollTo(0, 0);
      const heading = outlet.querySelector('h1');
      if (heading) {
        heading.setAttribute('tabindex', '-1');
        heading.focus({ preventScroll: true });
      }
    }
  }

  function navigate(href, { replace = false } = {}) {
    const url = new URL(href, window.location.href);
    if (replace) history.replaceState(null, '', url);
    else history.pushState(null, '', url);
    render({ focus: true });
  }

  function shouldHandle(event, link) {
    if (event.defaultPrevented || event.button !== 0) return false;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return false;
    if (link.hasAttribute('download') || (link.target && link.target !== '_self')) return false;
    const url = new URL(link.href, window.location.href);
    if (url.origin !== window.location.origin) return false;
    const path = normalise(url.pathname);
    if (!viewFor(path)) return false;
    // An in-page anchor such as the skip link: let the browser scroll and move focus.
    if (url.hash && path === normalise(window.location.pathname)) return false;
    return true;
  }

  document.addEventListener('click', (event) => {
    const link = event.target instanceof Element ? event.target.closest('a[href]') : null;
    if (!link || !shouldHandle(event, link)) return;
    event.preventDefault();
    const url = new URL(link.href, window.location.href);
    if (url.pathname + url.search === window.location.pathname + window.location.search) {
      // Same page: move focus to the heading as a confirmation, but do not re-render.
      outlet.querySelector('h1')?.focus();
      return;
    }
    navigate(url);
  });

  window.addEventListener('popstate', () => {
    // Back/forward across #anchors of the same page is not a page change.
    if (current && normalise(window.location.pathname) === current.path) return;
    render({ focus: true });
  });

  render({ focus: false });
  return { navigate };
}
