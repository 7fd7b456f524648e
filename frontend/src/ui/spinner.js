import { h } from '../dom.js';

/** A small spinning ring that inherits the text colour; decorative (aria-hidden). */
export function spinner(size = 'small') {
  return h('span', {
    class:
      size === 'large'
        ? 'inline-block size-5 shrink-0 rounded-full border-2 border-line border-t-accent motion-safe:animate-spin'
        : 'inline-block size-4 shrink-0 rounded-full border-2 border-current border-r-transparent motion-safe:animate-spin',
    'aria-hidden': 'true',
  });
}

/** A centred "Loading…" line for a page or section that is waiting for data. */
export function loadingLine(text = 'Loading…') {
  return h(
    'p',
    { class: 'flex items-center gap-3 text-muted', role: 'status' },
    spinner('large'),
    h('span', null, text),
  );
}
