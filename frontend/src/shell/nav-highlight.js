// Mark the header link of the current page with aria-current="page" (styled in CSS).

export function highlightNav(pathname) {
  // A workspace belongs to the Workspaces section.
  if (pathname.startsWith('/w/')) pathname = '/workspaces';
  if (pathname.startsWith('/messages/')) pathname = '/messages';
  if (pathname === '/dashboard') pathname = '/';
  if (pathname.startsWith('/admin/')) pathname = '/admin';
  if (pathname.startsWith('/settings/')) pathname = '/settings/account';
  for (const link of document.querySelectorAll('a[data-nav]')) {
    if (new URL(link.href).pathname === pathname) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}
