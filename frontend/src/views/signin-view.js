import { h } from '../dom.js';
import { lead, page, pageHeading, textLink } from './page-layout.js';

export const signinView = {
  title: 'Sign in',
  render(outlet) {
    outlet.append(
      page(
        h(
          'div',
          { class: 'max-w-2xl' },
          pageHeading('Sign in'),
          lead('Accounts are not available yet: signing in, signing up and invitations arrive in the next release.'),
          h(
            'div',
            { class: 'mt-8 rounded-xl border border-line bg-surface p-5' },
            h('h2', { class: 'text-lg font-semibold' }, 'What you can do today'),
            h(
              'ul',
              { class: 'mt-3 list-disc space-y-2 pl-5 text-muted' },
              h('li', null, 'Use the ', textLink('/scratch', 'scratch editor'), '. It needs no account and keeps your text in this browser only.'),
              h('li', null, 'Check the server’s health on the ', textLink('/', 'home page'), '.'),
            ),
          ),
        ),
      ),
    );
  },
};
