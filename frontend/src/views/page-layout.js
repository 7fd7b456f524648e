import { h } from '../dom.js';

/** Centered page column used by the text pages. */
export function page(...children) {
  return h('div', { class: 'mx-auto w-full max-w-6xl px-4 py-10' }, ...children);
}

/** The page's single h1. It receives focus after in-app navigation. */
export function pageHeading(text) {
  return h('h1', { class: 'text-3xl font-bold tracking-tight text-balance', tabindex: '-1' }, text);
}

export function lead(...children) {
  return h('p', { class: 'mt-3 max-w-2xl text-lg text-muted text-pretty' }, ...children);
}

export function textLink(href, text) {
  return h('a', { href, class: 'font-medium text-accent underline underline-offset-2 hover:text-accent-strong' }, text);
}

export function buttonLink(href, text) {
  return h(
    'a',
    {
      href,
      class:
        'inline-flex items-center rounded-md bg-accent px-4 py-2 font-semibold text-on-accent shadow-sm hover:bg-accent-strong',
    },
    text,
  );
}
