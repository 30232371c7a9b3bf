/**
 * The GitHub client for the pull request: @actions/github's Octokit (which already follows the
 * runner's proxy settings) with the retry and throttling plugins, as
 * peter-evans/create-pull-request uses them. Server errors are retried by the retry plugin
 * (3 times, backing off); rate limits by the throttling plugin, which also spaces write
 * requests as GitHub asks, and which retries a rate-limited request at most twice, and only
 * when GitHub asks to wait at most MAX_RATE_LIMIT_WAIT_SECONDS: a longer wait fails the request
 * with GitHub's message rather than stall the run.
 */
import * as core from '@actions/core';
import { getOctokit } from '@actions/github';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';

export const MAX_RATE_LIMIT_WAIT_SECONDS = 60;
const RATE_LIMIT_RETRIES = 2;

/** Not retried by the retry plugin: client errors; 429 (and rate-limit 403s) are throttling's. */
const DO_NOT_RETRY = [400, 401, 403, 404, 410, 422, 429, 451];

function onLimit(kind: string) {
  return (
    retryAfter: number,
    options: { method: string; url: string },
    _o: unknown,
    count: number,
  ) => {
    const retrying = count < RATE_LIMIT_RETRIES && retryAfter <= MAX_RATE_LIMIT_WAIT_SECONDS;
    core.warning(
      `GitHub ${kind} for ${options.method} ${options.url}: ` +
        (retrying
          ? `retrying in ${retryAfter} s.`
          : `not retrying (GitHub asks to wait ${retryAfter} s).`),
    );
    return retrying;
  };
}

export function createOctokit(token: string): ReturnType<typeof getOctokit> {
  return getOctokit(
    token,
    {
      retry: { doNotRetry: DO_NOT_RETRY },
      throttle: {
        onRateLimit: onLimit('rate limit'),
        onSecondaryRateLimit: onLimit('secondary rate limit'),
      },
    },
    retry,
    throttling,
  );
}
