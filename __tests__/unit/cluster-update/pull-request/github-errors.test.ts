import { describe, expect, it } from '@jest/globals';
import { getOctokit } from '@actions/github';
import { ActionError } from '../../../../src/core/errors.js';
import {
  graphqlError,
  graphqlUnavailable,
  httpStatus,
  MSG_PULL_EXISTS,
  toActionError,
} from '../../../../src/cluster-update/pull-request/github-errors.js';
import { contextFor, FULL } from '../../../../test-support/pull-request-repo.js';
import { MemoryLogger } from '../../../../test-support/memory-logger.js';

// Plain inputs: a client that is never called, and errors shaped as Octokit throws them.
const ctx = contextFor(getOctokit('unused-token'), new MemoryLogger());

/** An Octokit RequestError: an Error with the HTTP status. */
function http(status: number, message: string): Error {
  return Object.assign(new Error(message), { status });
}

/** A GraphqlResponseError: no status, the response's `errors`. */
function graphql(...errors: Array<{ type?: string; message?: string }>): Error {
  return Object.assign(new Error(errors.map((e) => e.message ?? '').join('; ')), { errors });
}

describe('httpStatus', () => {
  it('reads a numeric status and nothing else', () => {
    expect(httpStatus(http(422, 'x'))).toBe(422);
    expect(httpStatus({ status: '404' })).toBeUndefined();
    expect(httpStatus(new Error('x'))).toBeUndefined();
    expect(httpStatus(undefined)).toBeUndefined();
    expect(httpStatus('404')).toBeUndefined();
  });
});

describe('graphqlUnavailable', () => {
  it('tries REST for a missing or failing GraphQL endpoint and GraphQL errors other than stale data', () => {
    expect(graphqlUnavailable(http(404, 'Not Found'))).toBe(true);
    expect(graphqlUnavailable(http(502, 'Bad Gateway'))).toBe(true);
    expect(graphqlUnavailable(graphql({ type: 'INTERNAL', message: 'boom' }))).toBe(true);
  });

  it('never for permissions, credentials, rate limits, races or our own errors', () => {
    expect(graphqlUnavailable(http(401, 'Bad credentials'))).toBe(false);
    expect(graphqlUnavailable(http(403, 'Forbidden'))).toBe(false);
    expect(graphqlUnavailable(http(429, 'API rate limit exceeded'))).toBe(false);
    expect(graphqlUnavailable(http(422, 'Resource not accessible by integration'))).toBe(false);
    expect(graphqlUnavailable(graphql({ type: 'FORBIDDEN', message: 'no' }))).toBe(false);
    expect(graphqlUnavailable(graphql({ type: 'STALE_DATA', message: 'stale' }))).toBe(false);
    expect(graphqlUnavailable(graphql({ message: 'Expected branch to point to abc' }))).toBe(false);
    expect(graphqlUnavailable(new ActionError('ours'))).toBe(false);
    // Neither a status nor GraphQL errors: not a GitHub answer at all.
    expect(graphqlUnavailable(new Error('socket hang up'))).toBe(false);
  });
});

describe('graphqlError', () => {
  it('says the branch moved when the expected head was stale', () => {
    const cause = graphql({ message: 'Expected branch to point to abc but it did not' });
    const error = graphqlError(ctx, cause, 'b');
    expect(error).toBeInstanceOf(ActionError);
    expect(error.message).toBe(
      `Branch 'b' of ${FULL} moved while the commit was being made (another run is probably updating it). Rerun the workflow. ${cause.message}`,
    );
    expect(error.cause).toBe(cause);
  });

  it('otherwise reports a failed commit, and passes our own errors through', () => {
    expect(graphqlError(ctx, http(500, 'oops'), 'b').message).toBe(
      `Could not commit to 'b' in ${FULL} (HTTP 500): oops`,
    );
    const own = new ActionError('ours');
    expect(graphqlError(ctx, own, 'b')).toBe(own);
  });
});

describe('toActionError', () => {
  it('explains how to let GitHub Actions create pull requests', () => {
    const error = toActionError(
      ctx,
      http(403, 'GitHub Actions is not permitted to create or approve pull requests.'),
      'pulls',
      'create a pull request',
    );
    expect(error.message).toContain(`GitHub refused to create a pull request in ${FULL}`);
    expect(error.message).toContain('"Allow GitHub Actions to create and approve pull requests"');
    expect(error.message).toContain('github-token');
  });

  it('points at the token for 401 and says to wait for a rate limit', () => {
    expect(
      toActionError(ctx, http(401, 'Bad credentials'), 'pulls', 'list pull requests').message,
    ).toBe(
      `GitHub rejected the token while trying to list pull requests in ${FULL} (HTTP 401): Bad credentials. Check the github-token input: the token may have expired or been revoked.`,
    );
    const limited = toActionError(ctx, http(403, 'API rate limit exceeded'), 'contents', 'x');
    expect(limited.message).toContain("GitHub's API rate limit stopped the action");
    expect(limited.message).toContain('Rerun the workflow later.');
  });

  it('names the permission the area needs', () => {
    const denied = (area: Parameters<typeof toActionError>[2]) =>
      toActionError(ctx, http(403, 'Resource not accessible by integration'), area, 'do it')
        .message;
    expect(denied('contents')).toContain('`permissions: contents: write`');
    expect(denied('contents')).toContain('Contents: read and write');
    expect(denied('repository')).toContain('`permissions: contents: write`');
    expect(denied('pulls')).toContain('`permissions: pull-requests: write`');
    expect(denied('labels')).toContain('Pull requests: read and write');
    expect(denied('labels')).toContain('forks only get a read-only token');
    const forbidden = toActionError(
      ctx,
      graphql({ type: 'FORBIDDEN', message: 'no' }),
      'contents',
      'x',
    );
    expect(forbidden.message).toContain('permissions: contents: write');
  });

  it('tells a repository it cannot see from other 404s, and keeps the cause', () => {
    const cause = http(404, 'Not Found');
    const repository = toActionError(ctx, cause, 'repository', 'read the repository');
    expect(repository.message).toContain(
      `Repository ${FULL} was not found, or the token cannot see it (HTTP 404)`,
    );
    expect(repository.cause).toBe(cause);
    expect(toActionError(ctx, cause, 'contents', 'read blob abc').message).toBe(
      `Could not read blob abc in ${FULL} (HTTP 404): Not Found`,
    );
    expect(toActionError(ctx, new Error('socket hang up'), 'pulls', 'x').message).toBe(
      `Could not x in ${FULL}: socket hang up`,
    );
    const own = new ActionError('ours');
    expect(toActionError(ctx, own, 'pulls', 'x')).toBe(own);
  });

  it('knows the message GitHub gives for a pull request that exists', () => {
    expect(MSG_PULL_EXISTS).toBe('A pull request already exists');
  });
});
