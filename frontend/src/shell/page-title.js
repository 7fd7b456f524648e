export const PRODUCT_NAME = 'collabcode';

export function setPageTitle(title) {
  document.title = title ? `${title} · ${PRODUCT_NAME}` : PRODUCT_NAME;
}
