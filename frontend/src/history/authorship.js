// "Who wrote this line": a bar in each line's gutter in the colour of its last writer, with
// the name and time on hover, from GET …/authorship (read again on demand). Lines the
// server's version does not have yet (typed since) get no bar until the next refresh.

import { h, replaceChildren } from '../dom.js';
import { authorLabel, markdownText, nameOf, timeLabel } from './people.js';

function lineLabel(line) {
  if (line.user || line.via) return authorLabel(line);
  if (line.authors?.length) return line.authors.map(authorLabel).join(', ');
  return nameOf(null);
}

/**
 * @param {object} options
 * @param {object} options.monaco
 * @param {object} options.editor
 * @param {{classFor: (user: object|null) => string}} options.colors
 */
export function createAuthorship({ monaco, editor, colors }) {
  const decorations = editor.createDecorationsCollection();
  const legend = h('ul', { class: 'flex flex-col gap-1 text-xs empty:hidden', 'aria-label': 'Authors of the lines', dataset: { authorshipLegend: '' } });

  function show(result, model) {
    if (editor.getModel() !== model) return;
    const count = model.getLineCount();
    const people = new Map();
    const items = [];
    for (const line of result.lines ?? []) {
      if (!Number.isInteger(line.line) || line.line < 1 || line.line > count) continue;
      const who = line.user ?? line.authors?.[0]?.user ?? null;
      const label = lineLabel(line);
      const className = colors.classFor(who);
      const entry = people.get(label) ?? { label, className, lines: 0 };
      entry.lines += 1;
      people.set(label, entry);
      const hover = { value: `**${markdownText(label)}**${line.at ? ` · ${markdownText(timeLabel(line.at))}` : ''}` };
      items.push({
        range: new monaco.Range(line.line, 1, line.line, 1),
        options: {
          isWholeLine: true,
          linesDecorationsClassName: `cc-author-bar ${className}`,
          linesDecorationsTooltip: `${label}${line.at ? ` · ${timeLabel(line.at)}` : ''}`,
          hoverMessage: hover,
          description: 'cc-authorship',
        },
      });
    }
    decorations.set(items);
    replaceChildren(
      legend,
      [...people.values()]
        .sort((a, b) => b.lines - a.lines)
        .map((person) =>
          h(
            'li',
            { class: 'flex items-center gap-2', dataset: { authorshipPerson: person.label } },
            h('span', { class: `cc-person-swatch size-3 shrink-0 rounded-sm ${person.className}`, 'aria-hidden': 'true' }),
            h('span', { class: 'min-w-0 flex-1 truncate' }, person.label),
            h('span', { class: 'text-muted' }, person.lines === 1 ? '1 line' : `${person.lines} lines`),
          ),
        ),
    );
  }

  return {
    legend,
    show,
    clear() {
      decorations.clear();
      legend.replaceChildren();
    },
  };
}
