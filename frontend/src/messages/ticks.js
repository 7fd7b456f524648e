// Delivery ticks of one's own messages: one grey (sent), two grey (delivered), two blue
// (read), a clock while pending. Each carries a text label for screen readers.

import { h } from '../dom.js';

const SVG = 'http://www.w3.org/2000/svg';

function svg(paths, viewBox = '0 0 18 12') {
  const el = document.createElementNS(SVG, 'svg');
  el.setAttribute('viewBox', viewBox);
  el.setAttribute('aria-hidden', 'true');
  el.setAttribute('class', 'h-3 w-[1.125rem]');
  for (const d of paths) {
    const path = document.createElementNS(SVG, 'path');
    path.setAttribute('d', d);
    path.setAttribute('fill', 'none');
    path.setAttribute('stroke', 'currentColor');
    path.setAttribute('stroke-width', '1.8');
    path.setAttribute('stroke-linecap', 'round');
    path.setAttribute('stroke-linejoin', 'round');
    el.append(path);
  }
  return el;
}

const ONE = ['M2 6.5l3 3 6-7'];
const TWO = ['M1 6.5l3 3 6-7', 'M7.5 9.5l6.5-7.5'];
const CLOCK = ['M9 1.5a4.5 4.5 0 1 0 0.01 0z', 'M9 3.5v2.6l1.8 1.2'];

const LOOK = {
  pending: { paths: CLOCK, label: 'Sending', className: 'text-current opacity-60' },
  sent: { paths: ONE, label: 'Sent', className: 'text-current opacity-60' },
  delivered: { paths: TWO, label: 'Delivered', className: 'text-current opacity-60' },
  read: { paths: TWO, label: 'Read', className: 'text-sky-600 dark:text-sky-400' },
};

/** The tick mark for a status: 'pending', 'sent', 'delivered' or 'read'. */
export function ticks(status) {
  const look = LOOK[status] ?? LOOK.sent;
  return h(
    'span',
    { class: `inline-flex items-center ${look.className}`, dataset: { ticks: status }, role: 'img', 'aria-label': look.label, title: look.label },
    svg(look.paths),
  );
}
