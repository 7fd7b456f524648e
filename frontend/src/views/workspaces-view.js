// /workspaces: the signed-in user's workspaces, and a form to create one.

import { authRequest } from '../auth/auth-request.js';
import { h, replaceChildren } from '../dom.js';
import { notice } from '../ui/notice.js';
import { loadingLine } from '../ui/spinner.js';
import { page, pageHeading } from './page-layout.js';

const ROLE_LABEL = { owner: 'Owner', editor: 'Editor', viewer: 'Viewer' };

function formatUpdated(ms) {
  const date = new Date(Number(ms));
  if (Number.isNaN(date.getTime())) return '';
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

function workspaceRow(workspace) {
  const members = Number(workspace.member_count) || 1;
  return h(
    'li',
    { dataset: { workspaceId: workspace.id } },
    h(
      'a',
      {
        href: `/w/${workspace.id}`,
        class:
          'flex flex-wrap items-center justify-between gap-2 rounded-lg border border-line bg-surface px-4 py-3 hover:border-accent hover:bg-subtle',
      },
      h('span', { class: 'font-semibold text-fg' }, workspace.name),
      h(
        'span',
        { class: 'flex items-center gap-3 text-sm text-muted' },
        h('span', { class: 'rounded-full bg-subtle px-2 py-0.5 text-xs font-medium' }, ROLE_LABEL[workspace.role] ?? workspace.role),
        h('span', null, members === 1 ? '1 member' : `${members} members`),
        h('span', null, `Updated ${formatUpdated(workspace.updated_at)}`),
      ),
    ),
  );
}

export const workspacesView = {
  title: 'Workspaces',
  render(outlet, { signal, navigate }) {
    const list = h('div', { class: 'mt-6', dataset: { workspaceList: 'loading' }, 'aria-live': 'polite' }, loadingLine('Loading your workspaces…'));

    const nameInput = h('input', {
      id: 'workspace-name',
      name: 'name',
      required: true,
      maxlength: '100',
      autocomplete: 'off',
      class: 'min-w-0 flex-1 rounded-md border border-line bg-surface px-3 py-2 text-fg',
    });
    const submit = h(
      'button',
      {
        id: 'workspace-create',
        type: 'submit',
        class: 'rounded-md bg-accent px-4 py-2 font-semibold text-on-accent hover:bg-accent-strong disabled:opacity-60',
      },
      'Create workspace',
    );
    const formError = h('p', { id: 'workspace-create-error', class: 'text-sm text-bad', role: 'alert', dataset: { formError: '' } });
    const form = h(
      'form',
      { class: 'mt-6 flex flex-col gap-2 rounded-lg border border-line bg-surface p-4', novalidate: true },
      h('label', { for: 'workspace-name', class: 'text-sm font-medium' }, 'New workspace name'),
      h('div', { class: 'flex flex-wrap gap-2' }, nameInput, submit),
      formError,
    );

    form.addEventListener(
      'submit',
      async (event) => {
        event.preventDefault();
        const name = nameInput.value.trim();
        formError.textContent = '';
        if (!name) {
          formError.textContent = 'Enter a name for the workspace.';
          nameInput.focus();
          return;
        }
        submit.disabled = true;
        try {
          const { data } = await authRequest('/api/workspaces', { method: 'POST', body: { name }, signal });
          if (!signal.aborted) navigate(`/w/${data.id}`);
        } catch (error) {
          if (signal.aborted) return;
          formError.textContent = error?.message || 'The workspace could not be created.';
        } finally {
          submit.disabled = false;
        }
      },
      { signal },
    );

    async function load() {
      list.dataset.workspaceList = 'loading';
      replaceChildren(list, loadingLine('Loading your workspaces…'));
      try {
        const { data } = await authRequest('/api/workspaces', { signal });
        if (signal.aborted) return;
        const workspaces = Array.isArray(data?.workspaces) ? data.workspaces : [];
        if (!workspaces.length) {
          list.dataset.workspaceList = 'empty';
          replaceChildren(list, notice('info', 'You have no workspaces yet. Create one above, or ask a workspace owner to add you.'));
          return;
        }
        list.dataset.workspaceList = 'ready';
        replaceChildren(list, h('ul', { class: 'flex flex-col gap-2' }, workspaces.map(workspaceRow)));
      } catch (error) {
        if (signal.aborted) return;
        list.dataset.workspaceList = 'error';
        replaceChildren(
          list,
          notice('error', 'Your workspaces could not be loaded. ', error?.message ?? ''),
          h(
            'button',
            {
              type: 'button',
              class: 'mt-3 rounded-md border border-line bg-surface px-3 py-1.5 text-sm font-medium hover:bg-subtle',
              onClick: load,
              signal,
            },
            'Try again',
          ),
        );
      }
    }

    outlet.append(page(h('div', { dataset: { view: 'workspaces' } }, pageHeading('Workspaces'), form, list)));
    load();
  },
};
