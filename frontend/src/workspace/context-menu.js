// A small ARIA menu at a point (right click) or under an element (Shift+F10, the Menu key).
// Arrow keys move, Enter or Space chooses, Escape or a click elsewhere closes and focus goes
// back where it was.

import { h } from '../dom.js';

let current = null;

/**
 * @param {object} options
 * @param {{x: number, y: number}} options.at  viewport coordinates
 * @param {Array<{label: string, action: () => void, id: string}>} options.items
 * @param {HTMLElement} options.returnFocus
 * @param {string} options.label  accessible name of the menu
 */
export function openContextMenu({ at, items, returnFocus, label }) {
  current?.close(false);
  const buttons = items.map((item) =>
    h(
      'button',
      {
        type: 'button',
        role: 'menuitem',
        tabindex: '-1',
        class: 'block w-full rounded-sm px-3 py-1 text-left text-sm hover:bg-subtle focus:bg-subtle focus:outline-none',
        dataset: { menuItem: item.id },
      },
      item.label,
    ),
  );
  const menu = h(
    'div',
    {
      role: 'menu',
      'aria-label': label,
      class: 'fixed z-50 min-w-40 rounded-md border border-line bg-surface p-1 text-fg shadow-lg',
      dataset: { contextMenu: '' },
    },
    buttons,
  );
  const controller = new AbortController();
  const close = (restore = true) => {
    if (current !== handle) return;
    current = null;
    controller.abort();
    menu.remove();
    if (restore) returnFocus?.focus();
  };
  const handle = { close };
  current = handle;
  const { signal } = controller;
  buttons.forEach((button, index) =>
    button.addEventListener(
      'click',
      () => {
        close();
        items[index].action();
      },
      { signal },
    ),
  );
  menu.addEventListener(
    'keydown',
    (event) => {
      const index = buttons.indexOf(document.activeElement);
      const move = { ArrowDown: 1, ArrowUp: -1 }[event.key];
      if (move) buttons[(index + move + buttons.length) % buttons.length].focus();
      else if (event.key === 'Home') buttons[0].focus();
      else if (event.key === 'End') buttons[buttons.length - 1].focus();
      else if (event.key === 'Escape' || event.key === 'Tab') close();
      else return;
      event.preventDefault();
      event.stopPropagation();
    },
    { signal },
  );
  document.addEventListener('pointerdown', (event) => menu.contains(event.target) || close(false), { signal, capture: true });
  window.addEventListener('blur', () => close(false), { signal });
  document.body.append(menu);
  const { width, height } = menu.getBoundingClientRect();
  menu.style.left = `${Math.max(4, Math.min(at.x, window.innerWidth - width - 4))}px`;
  menu.style.top = `${Math.max(4, Math.min(at.y, window.innerHeight - height - 4))}px`;
  buttons[0]?.focus();
  return handle;
}
