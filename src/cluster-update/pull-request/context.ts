/**
 * The state every pull request helper takes: the deps (Octokit client, logger, signal) and
 * the target repository, plus the small shared unions that classify a call.
 */
import type { PullRequestDeps } from './types.js';

export type Area = 'repository' | 'contents' | 'pulls' | 'labels';
export type BaseSource = 'input' | 'workflow' | 'default';

export interface Context extends PullRequestDeps {
  owner: string;
  repo: string;
  full: string;
}

/** The options every Octokit call is made with: the run's signal ends it. */
export function requestOptions(ctx: Context): { request: { signal: AbortSignal } } {
  return { request: { signal: ctx.signal } };
}
