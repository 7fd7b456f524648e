// Markdown from the model, made safe to show. The model's output is untrusted (a prompt in
// a file can make it write anything), so:
//   - raw HTML in the Markdown is shown as text, never parsed (marked's html renderer);
//   - images become plain links (no requests to hosts the model picked);
//   - DOMPurify cleans the result anyway, with a short allow-list, and only http(s) and
//     mailto links survive, opened in a new tab with rel="noopener noreferrer".

import DOMPurify from 'dompurify';
import { Marked } from 'marked';

const ALLOWED_TAGS = [
  'a', 'p', 'br', 'hr', 'strong', 'em', 'del', 'code', 'pre', 'blockquote',
  'ul', 'ol', 'li', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6',
  'table', 'thead', 'tbody', 'tr', 'th', 'td', 'input',
];
const ALLOWED_ATTR = ['href', 'title', 'class', 'type', 'checked', 'disabled', 'align', 'start'];
const SAFE_URL = /^(?:https?:|mailto:)/i;

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const marked = new Marked({
  gfm: true,
  breaks: false,
  async: false,
  renderer: {
    html({ text }) {
      return escapeHtml(text);
    },
    image({ href, text }) {
      const label = escapeHtml(text || href || 'image');
      return SAFE_URL.test(href ?? '') ? `<a href="${escapeHtml(href)}">${label}</a>` : label;
    },
  },
});

const purify = DOMPurify(window);
purify.addHook('afterSanitizeAttributes', (node) => {
  if (node.nodeType !== Node.ELEMENT_NODE) return;
  if (node.nodeName === 'A') {
    const href = node.getAttribute('href') ?? '';
    if (!SAFE_URL.test(href)) node.removeAttribute('href');
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer nofollow');
  }
  if (node.nodeName === 'INPUT' && node.getAttribute('type') !== 'checkbox') node.remove();
  if (node.nodeName === 'INPUT') node.setAttribute('disabled', '');
  // Only marked's own "language-xyz" classes on code blocks; nothing to restyle the page.
  if (node.hasAttribute('class')) {
    const keep = node.nodeName === 'CODE' ? /^language-[\w+#.-]{1,40}$/.exec(node.getAttribute('class')) : null;
    if (keep) node.setAttribute('class', keep[0]);
    else node.removeAttribute('class');
  }
});

/** Render Markdown to a sanitised DocumentFragment (target, rel and classes fixed). */
export function renderMarkdown(text) {
  const html = marked.parse(String(text ?? ''));
  return purify.sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR,
    ALLOW_DATA_ATTR: false,
    ALLOW_ARIA_ATTR: false,
    RETURN_DOM_FRAGMENT: true,
  });
}

/** The code blocks of a rendered fragment: [{pre, code, language}]. */
export function codeBlocks(root) {
  return [...root.querySelectorAll('pre > code')].map((code) => ({
    pre: code.parentElement,
    code: code.textContent ?? '',
    language: /^language-([\w+#.-]+)$/.exec(code.getAttribute('class') ?? '')?.[1] ?? '',
  }));
}
