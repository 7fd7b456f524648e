// A message body as DOM, from text only: http(s) links become links, ``` fences become
// monospaced blocks, everything else stays text. Nothing here parses HTML.

import { h } from '../dom.js';

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING = /[.,;:!?)\]}'"]+$/;
const LINK_CLASS = 'break-all underline underline-offset-2 hover:opacity-80';

/** Only http and https addresses are links. */
function safeHref(text) {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

/** Text with its links, as a list of strings and <a> elements. */
export function linkify(text) {
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    let candidate = match[0];
    // A sentence's full stop or a closing bracket is not part of the address.
    const trailing = TRAILING.exec(candidate);
    if (trailing && !(trailing[0].startsWith(')') && candidate.includes('('))) {
      candidate = candidate.slice(0, -trailing[0].length);
    }
    const href = candidate ? safeHref(candidate) : null;
    if (!href) continue;
    if (match.index > last) parts.push(text.slice(last, match.index));
    parts.push(h('a', { href, target: '_blank', rel: 'noopener noreferrer', class: LINK_CLASS }, candidate));
    last = match.index + candidate.length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

/** Split on ``` fences: [{code: boolean, text}]. An unclosed fence is plain text. */
export function splitFences(body) {
  const pieces = [];
  let rest = body;
  for (;;) {
    const open = rest.indexOf('```');
    if (open < 0) break;
    const close = rest.indexOf('```', open + 3);
    if (close < 0) break;
    if (open > 0) pieces.push({ code: false, text: rest.slice(0, open) });
    let code = rest.slice(open + 3, close);
    // An info string ("```js") on the fence's own line is not code.
    const firstBreak = code.indexOf('\n');
    if (firstBreak >= 0 && /^[\w+#.-]*$/.test(code.slice(0, firstBreak).trim())) code = code.slice(firstBreak + 1);
    pieces.push({ code: true, text: code.replace(/\n$/, '') });
    rest = rest.slice(close + 3).replace(/^\n/, '');
  }
  if (rest) pieces.push({ code: false, text: rest });
  return pieces;
}

/** The DOM of a message body. */
export function messageBody(body) {
  return splitFences(body).map((piece) =>
    piece.code
      ? h(
          'pre',
          { class: 'my-1 overflow-x-auto rounded-md bg-black/5 px-2 py-1.5 font-mono text-[0.8125rem] leading-snug dark:bg-white/10' },
          h('code', null, piece.text),
        )
      : h('span', { class: 'whitespace-pre-wrap break-words' }, ...linkify(piece.text)),
  );
}
