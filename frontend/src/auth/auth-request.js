// Authenticated API requests: send the in-memory access token and, when the server
// answers 401, refresh once and retry once.

import { ApiError } from '../api/api-error.js';
import { requestJson } from '../api/request-json.js';
import { getAccessToken, refreshSession } from './session.js';

/** Like requestJson, with `Authorization: Bearer <access token>`. */
export async function authRequest(path, options = {}) {
  const token = await getAccessToken();
  if (!token) throw new ApiError(401, 'not_authenticated', 'Sign in to continue.');
  try {
    return await requestJson(path, { ...options, token });
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
    if (!(await refreshSession({ staleToken: token }))) throw error;
    const fresh = await getAccessToken();
    if (!fresh) throw error;
    return requestJson(path, { ...options, token: fresh });
  }
}
