// Follow the system's light/dark preference.

const query = window.matchMedia('(prefers-color-scheme: dark)');

export function prefersDark() {
  return query.matches;
}

/** Call `listener(isDark)` whenever the system preference changes, until `signal` aborts. */
export function onColorSchemeChange(listener, signal) {
  query.addEventListener('change', (event) => listener(event.matches), { signal });
}
