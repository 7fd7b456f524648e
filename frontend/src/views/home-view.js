import { h } from '../dom.js';
import { createStatusCard } from '../health/status-card.js';
import { buttonLink, lead, page, pageHeading } from './page-layout.js';
import { createWelcome } from './welcome.js';

const FEATURES = [
  ['Shared editor', 'A VS Code–like editor over a workspace of files and folders, with many languages and tabs.'],
  ['Real-time collaboration', 'Edit the same file together and see each other’s cursors and selections.'],
  ['Messages and calls', 'Private messages with read receipts, and audio/video calls with screen sharing.'],
  ['Coding assistant', 'Inline completions and a chat that knows your code, with the provider you choose.'],
];

export const homeView = {
  title: '',
  render(outlet, { signal }) {
    outlet.append(
      page(
        createWelcome({ signal }),
        h(
          'div',
          { class: 'grid gap-10 lg:grid-cols-[minmax(0,1fr)_24rem]' },
          h(
            'div',
            null,
            pageHeading('Code together, on your own server'),
            lead(
              'collabcode is a self-hostable collaborative coding platform for small teams. ',
              'One Python package runs the editor, real-time collaboration, messages, calls and an AI assistant on a machine you control.',
            ),
            h(
              'div',
              { class: 'mt-6 flex flex-wrap items-center gap-3' },
              buttonLink('/scratch', 'Open the scratch editor'),
              h('span', { class: 'text-sm text-muted' }, 'No account needed; the text stays in this browser.'),
            ),
            h('h2', { class: 'mt-12 text-xl font-semibold' }, 'What collabcode does'),
            h(
              'ul',
              { class: 'mt-4 grid gap-4 sm:grid-cols-2' },
              FEATURES.map(([name, text]) =>
                h(
                  'li',
                  { class: 'rounded-xl border border-line bg-surface p-4' },
                  h('h3', { class: 'font-semibold' }, name),
                  h('p', { class: 'mt-1 text-sm text-muted' }, text),
                ),
              ),
            ),
            h(
              'p',
              { class: 'mt-6 text-sm text-muted' },
              'Workspaces and the features above arrive in the coming releases. This release has accounts, the scratch editor and the server status.',
            ),
          ),
          h('div', null, createStatusCard({ signal })),
        ),
      ),
    );
  },
};
