// /u/{username}: a person's profile: avatar, name, bio, joined, presence, followers and
// following, follow/unfollow, message, block; and the workspaces we share. What is shown is
// what GET /api/users/{username} returns for this viewer (the server decides visibility).

import { h, replaceChildren } from '../dom.js';
import { messageOf } from '../api/api-error.js';
import { getSession } from '../auth/session.js';
import { avatarWithPresence, empty, nameOf } from '../dashboard/parts.js';
import { toDate } from '../format/time.js';
import { presenceText } from '../messages/chat-format.js';
import { setPageTitle } from '../shell/page-title.js';
import { confirmAction } from '../messages/confirm-dialog.js';
import { blockUser, openConversation, unblockUser } from '../messages/messages-api.js';
import { errorRegion, secondaryButton, setPending, showMessage } from '../ui/form-controls.js';
import { notice } from '../ui/notice.js';
import { loadingLine } from '../ui/spinner.js';
import { followLists } from './follow-lists.js';
import { follow, getProfile, unfollow } from './social-api.js';

const PRIMARY =
  'inline-flex items-center justify-center gap-2 rounded-md bg-accent px-4 py-1.5 text-sm font-semibold text-on-accent shadow-sm hover:bg-accent-strong disabled:opacity-70';

const joinedFormat = new Intl.DateTimeFormat(undefined, { month: 'long', year: 'numeric' });

function usernameFromPath(path) {
  return decodeURIComponent(path.slice('/u/'.length)).toLowerCase();
}

function sharedWorkspaces(list) {
  if (!list.length) return empty('You share no workspaces.');
  return h(
    'ul',
    { class: 'flex flex-wrap gap-2' },
    list.map((w) =>
      h(
        'li',
        null,
        h('a', { href: `/w/${w.id}`, class: 'inline-block rounded-md border border-line px-3 py-1.5 text-sm font-medium hover:bg-subtle', dataset: { sharedWorkspace: w.id } }, w.name),
      ),
    ),
  );
}

export const profileView = {
  title: 'Profile',
  render(outlet, { signal, path, navigate }) {
    const username = usernameFromPath(path);
    const root = h('div', { class: 'mx-auto w-full max-w-4xl px-4 py-8', dataset: { view: 'profile', profileState: 'loading' } });
    outlet.append(root);
    root.append(loadingLine('Loading profile…'));

    function renderProfile(profile) {
      const me = getSession().user ?? {};
      const self = me.id === profile.id || me.username === profile.username;
      setPageTitle(`${nameOf(profile)} (@${profile.username})`);
      const errors = errorRegion('profile-action-error');
      const followersCount = h('span', { dataset: { followersCount: '' } }, String(profile.followers_count ?? 0));
      const followersWord = h('span', null, '');
      const paintFollowers = () => {
        followersCount.textContent = String(profile.followers_count ?? 0);
        followersWord.textContent = profile.followers_count === 1 ? ' follower' : ' followers';
      };
      paintFollowers();
      const lists = followLists(profile.username, signal);
      lists.setCounts({ followers: profile.followers_count, following: profile.following_count });

      const actions = h('div', { class: 'flex flex-wrap gap-2' });
      if (self) {
        actions.append(
          h('a', { href: '/settings/account#profile-heading', class: PRIMARY }, 'Edit profile'),
        );
      } else {
        const followButton = h('button', { type: 'button', class: PRIMARY, dataset: { followButton: '' } });
        const paint = () => {
          followButton.replaceChildren(h('span', null, profile.followed_by_me ? 'Unfollow' : 'Follow'));
          followButton.dataset.following = profile.followed_by_me ? '1' : '0';
          followButton.hidden = Boolean(profile.blocked);
        };
        paint();
        followButton.addEventListener(
          'click',
          async () => {
            showMessage(errors, 'error', '');
            setPending(followButton, true);
            try {
              const result = profile.followed_by_me ? await unfollow(profile.username) : await follow(profile.username);
              if (signal.aborted) return;
              profile.followed_by_me = Boolean(result.following);
              if (Number.isFinite(result.followers_count)) profile.followers_count = result.followers_count;
              paintFollowers();
              lists.setCounts({ followers: profile.followers_count, following: profile.following_count });
              lists.reload();
            } catch (error) {
              if (!signal.aborted) showMessage(errors, 'error', messageOf(error));
            } finally {
              setPending(followButton, false);
              paint();
            }
          },
          { signal },
        );

        const messageButton = secondaryButton('Message', { dataset: { messageButton: '' } });
        messageButton.hidden = Boolean(profile.blocked);
        messageButton.addEventListener(
          'click',
          async () => {
            showMessage(errors, 'error', '');
            setPending(messageButton, true);
            try {
              const conversation = await openConversation(profile.username);
              if (!signal.aborted) navigate(`/messages/${conversation.id}`);
            } catch (error) {
              if (!signal.aborted) showMessage(errors, 'error', messageOf(error));
            } finally {
              if (messageButton.isConnected) setPending(messageButton, false);
            }
          },
          { signal },
        );

        const blockButton = secondaryButton(profile.blocked ? 'Unblock' : 'Block', { dataset: { blockButton: '' } });
        blockButton.addEventListener(
          'click',
          async () => {
            showMessage(errors, 'error', '');
            if (!profile.blocked) {
              const sure = await confirmAction({
                title: `Block ${nameOf(profile)}?`,
                text: 'Neither of you can message the other or see the other’s presence, and they stop following you. You can unblock later.',
                confirmLabel: 'Block',
              });
              if (!sure || signal.aborted) return;
            }
            setPending(blockButton, true);
            try {
              if (profile.blocked) await unblockUser(profile.username);
              else await blockUser(profile.username);
              if (!signal.aborted) load();
            } catch (error) {
              if (!signal.aborted) showMessage(errors, 'error', messageOf(error));
              setPending(blockButton, false);
            }
          },
          { signal },
        );
        actions.append(followButton, messageButton, blockButton);
      }

      const joined = toDate(profile.joined_at);
      const presence = profile.presence ?? null;
      const facts = [
        presence ? h('span', { dataset: { profilePresence: presence.status } }, presenceText(presence) || 'offline') : null,
        joined ? h('span', null, `Joined ${joinedFormat.format(joined)}`) : null,
        h('span', null, followersCount, followersWord),
        h('span', null, String(profile.following_count ?? 0), ' following'),
      ].filter(Boolean);

      root.dataset.profileState = 'ready';
      root.dataset.username = profile.username;
      replaceChildren(
        root,
        h(
          'section',
          { class: 'rounded-xl border border-line bg-surface p-5 shadow-sm sm:p-6', 'aria-labelledby': 'profile-name' },
          h(
            'div',
            { class: 'flex flex-col gap-5 sm:flex-row sm:items-start' },
            avatarWithPresence(profile, presence, 'xl'),
            h(
              'div',
              { class: 'min-w-0 flex-1' },
              h('h1', { id: 'profile-name', class: 'text-2xl font-bold tracking-tight break-words', tabindex: '-1' }, nameOf(profile)),
              h(
                'p',
                { class: 'flex flex-wrap items-center gap-2 text-muted' },
                `@${profile.username}`,
                profile.follows_me && !self ? h('span', { class: 'rounded-full bg-subtle px-2 text-xs leading-5 font-medium text-fg', dataset: { followsMe: '' } }, 'Follows you') : null,
              ),
              profile.bio ? h('p', { class: 'mt-3 whitespace-pre-line text-pretty break-words', dataset: { profileBio: '' } }, profile.bio) : null,
              h(
                'p',
                { class: 'mt-3 flex flex-wrap gap-x-3 gap-y-1 text-sm text-muted' },
                facts.flatMap((fact, i) => (i ? [h('span', { 'aria-hidden': 'true' }, '·'), fact] : [fact])),
              ),
              profile.blocked ? h('div', { class: 'mt-3' }, notice('warning', 'You blocked this person.')) : null,
            ),
            actions,
          ),
          h('div', { class: 'mt-3' }, errors),
        ),
        self
          ? null
          : h(
              'section',
              { class: 'mt-5 rounded-xl border border-line bg-surface p-5 shadow-sm', 'aria-labelledby': 'shared-heading' },
              h('h2', { id: 'shared-heading', class: 'text-base font-semibold' }, 'Shared workspaces'),
              h('div', { class: 'mt-3' }, sharedWorkspaces(Array.isArray(profile.shared_workspaces) ? profile.shared_workspaces : [])),
            ),
        h(
          'section',
          { class: 'mt-5 rounded-xl border border-line bg-surface p-5 shadow-sm', 'aria-label': 'Followers and following' },
          lists.element,
        ),
      );
    }

    function load() {
      getProfile(username, signal).then(
        (profile) => !signal.aborted && renderProfile(profile),
        (error) => {
          if (signal.aborted) return;
          root.dataset.profileState = error?.status === 404 ? 'not-found' : 'error';
          replaceChildren(
            root,
            h('h1', { class: 'text-2xl font-bold', tabindex: '-1' }, error?.status === 404 ? 'Profile not found' : 'Profile unavailable'),
            h(
              'div',
              { class: 'mt-4' },
              error?.status === 404
                ? notice('info', `There is no one called @${username} that you can see.`)
                : notice('error', messageOf(error)),
            ),
            error?.status === 404 ? null : h('div', { class: 'mt-4' }, secondaryButton('Try again', { onClick: load, signal })),
          );
        },
      );
    }
    load();
  },
};
