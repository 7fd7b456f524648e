// Content that arrives after the router's own focus step (lazily loaded views, pages that
// wait for the session) moves focus to its heading, unless the user is already elsewhere.

export function focusHeadingIfIdle(outlet) {
  const active = document.activeElement;
  if (active && active !== document.body && active !== outlet) return;
  const heading = outlet.querySelector('h1');
  if (!heading) return;
  heading.setAttribute('tabindex', '-1');
  heading.focus({ preventScroll: true });
}
