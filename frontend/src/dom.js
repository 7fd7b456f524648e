// Tiny DOM builder. Text is always inserted as text nodes, never parsed as HTML.

/**
 * Create an element.
 * props: `class`, `dataset`, `on<Event>` handlers, `signal` (AbortSignal for those
 * handlers), booleans as bare attributes, anything else as an attribute.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  const { signal, ...rest } = props ?? {};
  for (const [key, value] of Object.entries(rest)) {
    if (value == null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value, signal ? { signal } : undefined);
    } else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/** Append strings, nodes and (nested) arrays of them; null/false are skipped. */
export function append(parent, children) {
  for (const child of children) {
    if (child == null || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.append(child instanceof Node ? child : String(child));
  }
  return parent;
}

/** Replace all children of `parent`. */
export function replaceChildren(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}
