export const PRODUCT_NAME = 'collabcode';

let pageTitle = '';
let unreadCount = 0;

function showTitle() {
  const base = pageTitle ? `${pageTitle} · ${PRODUCT_NAME}` : PRODUCT_NAME;
  document.title = unreadCount > 0 ? `(${unreadCount > 99 ? '99+' : unreadCount}) ${base}` : base;
}

export function setPageTitle(title) {
  pageTitle = title || '';
  showTitle();
}

/** Unread messages, shown as "(3) " before the title. */
export function setTitleUnread(count) {
  unreadCount = Math.max(0, Number(count) || 0);
  showTitle();
}
