/**
 * GitHub API failures: how to classify them (HTTP status, GraphQL errors, rate
 * limits, missing permissions) and how to turn them into an ActionError whose
 * message says what to fix.
 */
import { abortReason } from '../../core/clock.js';
import { ActionError, errorMessage } from '../../core/errors.js';
import type { Area, Context } from './context.js';

const MSG_ACTIONS_NOT_PERMITTED =
  'GitHub Actions is not permitted to create or approve pull requests';
const MSG_NOT_ACCESSIBLE = 'Resource not accessible by';
export const MSG_PULL_EXISTS = 'A pull request already exists';
const MSG_STALE_HEAD = 'Expected branch to point to';

export function httpStatus(error: unknown): number | undefined {
  if (error && typeof error === 'object' && 'status' in error) {
    const status = (error as { status: unknown }).status;
    return typeof status === 'number' ? status : undefined;
  }
  return undefined;
}

/** The `errors` of a GraphQL response error (`GraphqlResponseError`), if this is one. */
function graphqlErrors(error: unknown): Array<{ type?: string; message?: string }> | undefined {
  if (error && typeof error === 'object' && 'errors' in error && httpStatus(error) === undefined) {
    const errors = (error as { errors: unknown }).errors;
    if (Array.isArray(errors)) return errors as Array<{ type?: string; message?: string }>;
  }
  return undefined;
}

function isRateLimited(error: unknown): boolean {
  const status = httpStatus(error);
  return (status === 403 || status === 429) && /rate limit/i.test(errorMessage(error));
}

function isPermissionDenied(error: unknown): boolean {
  if (errorMessage(error).includes(MSG_NOT_ACCESSIBLE)) return true;
  return graphqlErrors(error)?.some((e) => e.type === 'FORBIDDEN') ?? false;
}

/** A GraphQL failure for which the REST git data API is worth trying: anything but permissions, credentials and races. */
export function graphqlUnavailable(error: unknown): boolean {
  if (error instanceof ActionError) return false;
  if (isPermissionDenied(error) || isRateLimited(error)) return false;
  if (errorMessage(error).includes(MSG_STALE_HEAD)) return false;
  const status = httpStatus(error);
  if (status !== undefined) return status !== 401 && status !== 403;
  const errors = graphqlErrors(error);
  return errors !== undefined && !errors.some((e) => e.type === 'STALE_DATA');
}

export function graphqlError(ctx: Context, error: unknown, branch: string): ActionError {
  if (error instanceof ActionError) return error;
  if (errorMessage(error).includes(MSG_STALE_HEAD)) {
    return new ActionError(
      `Branch '${branch}' of ${ctx.full} moved while the commit was being made ` +
        `(another run is probably updating it). Rerun the workflow. ${errorMessage(error)}`,
      { cause: error },
    );
  }
  return toActionError(ctx, error, 'contents', `commit to '${branch}'`);
}

export function toActionError(ctx: Context, error: unknown, area: Area, what: string): ActionError {
  if (error instanceof ActionError) return error;
  // Octokit reports a request cut off by the signal as an HTTP 500 AbortError: it is the
  // cancellation, no GitHub failure (and no reason to try the REST API instead of GraphQL).
  if (ctx.signal.aborted) return abortReason(ctx.signal);
  const status = httpStatus(error);
  const message = errorMessage(error);
  const code = status === undefined ? '' : ` (HTTP ${status})`;
  if (message.includes(MSG_ACTIONS_NOT_PERMITTED)) {
    return new ActionError(
      `GitHub refused to ${what} in ${ctx.full}: GitHub Actions is not permitted to create or approve pull requests. ` +
        'Enable Settings > Actions > General > Workflow permissions > ' +
        '"Allow GitHub Actions to create and approve pull requests" for the repository (or its organization), ' +
        'or pass a GitHub App token (or a personal access token) as the github-token input.',
      { cause: error },
    );
  }
  if (status === 401) {
    return new ActionError(
      `GitHub rejected the token while trying to ${what} in ${ctx.full}${code}: ${message}. ` +
        'Check the github-token input: the token may have expired or been revoked.',
      { cause: error },
    );
  }
  if (isRateLimited(error)) {
    return new ActionError(
      `GitHub's API rate limit stopped the action while trying to ${what} in ${ctx.full}${code}: ${message}. ` +
        'Rerun the workflow later.',
      { cause: error },
    );
  }
  if (isPermissionDenied(error)) {
    const permission = area === 'contents' || area === 'repository' ? 'contents' : 'pull-requests';
    return new ActionError(
      `The token is not allowed to ${what} in ${ctx.full}${code}: ${message}. ` +
        `The job needs \`permissions: ${permission}: write\` (set jobs.<job>.permissions in the workflow), ` +
        `or pass a token with ${permission === 'contents' ? 'Contents' : 'Pull requests'}: read and write access as the github-token input. ` +
        'Runs triggered by pull requests from forks only get a read-only token.',
      { cause: error },
    );
  }
  if (status === 404 && area === 'repository') {
    return new ActionError(
      `Repository ${ctx.full} was not found, or the token cannot see it${code}. ` +
        'Check the repository name, and that the github-token input has access to it ' +
        '(a GitHub App must be installed on the repository; a fine-grained token must include it).',
      { cause: error },
    );
  }
  return new ActionError(`Could not ${what} in ${ctx.full}${code}: ${message}`, { cause: error });
}
