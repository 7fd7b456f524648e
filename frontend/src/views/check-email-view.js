// /check-email: shown after signing up. Deliberately the same whether or not the address
// already had an account.

import { h } from '../dom.js';
import { signupEmail } from '../auth/signup-email.js';
import { authPage } from './auth-page.js';
import { textLink } from './page-layout.js';

export const checkEmailView = {
  title: 'Check your email',
  render(outlet) {
    const email = signupEmail();
    outlet.append(
      authPage({
        view: 'check-email',
        heading: 'Check your email',
        body: h(
          'div',
          { class: 'space-y-3' },
          h(
            'p',
            null,
            email
              ? ['Look for a message from us at ', h('strong', { class: 'break-all font-semibold' }, email), '.']
              : 'Look for a message from us in your inbox.',
            ' Open the link in it to verify your address and finish signing up.',
          ),
          h(
            'p',
            { class: 'text-sm text-muted' },
            'Nothing there after a few minutes? Look in the spam folder, and check that the address was spelled right.',
          ),
        ),
        footer: h('p', null, textLink('/signin', 'Go to sign in')),
      }),
    );
  },
};
