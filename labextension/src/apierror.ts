/**
 * The one error the sidebar shows when a call to the server extension fails: a sentence
 * that says what happened and what to do, the HTTP status and, when the server said it,
 * the pool's state. Kept free of JupyterLab imports so it is testable on its own.
 */

import { PoolState } from './types';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly state: PoolState | null = null
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The error for a non-2xx answer, from its status and (JSON) body. */
export function errorFromResponse(status: number, body: unknown): ApiError {
  const fields = (typeof body === 'object' && body !== null ? body : {}) as {
    message?: unknown;
    detail?: unknown;
    state?: unknown;
  };
  const state =
    typeof fields.state === 'string' ? (fields.state as PoolState) : null;
  if (typeof fields.message === 'string' && fields.message) {
    return new ApiError(fields.message, status, state);
  }
  if (typeof fields.detail === 'string' && fields.detail) {
    return new ApiError(fields.detail, status, state);
  }
  if (status === 404) {
    return new ApiError(
      'The fair-share server extension is not running on this Jupyter server: run ' +
        '`jupyter server extension enable jupyter_fairshare` and restart the server.',
      status
    );
  }
  if (status === 403) {
    return new ApiError(
      'This Jupyter server does not let you use fair-share: ask its administrator ' +
        'to grant the "fairshare" permission.',
      status
    );
  }
  return new ApiError(
    `The Jupyter server answered with HTTP ${status}: check its log, then retry.`,
    status
  );
}

/** The sentence to show for any thrown value. */
export function describeError(error: unknown): string {
  if (error instanceof Error && error.message) {
    return error.message;
  }
  return 'Something went wrong talking to the Jupyter server: retry, or check its log.';
}
