/**
 * The state every pull request helper takes: the Octokit client, the target
 * repository and the logger, plus the small shared unions that classify a call.
 */
import type { Logger } from '../../core/logger.js';
import type { Octokit } from './index.js';

export type Area = 'repository' | 'contents' | 'pulls' | 'labels';
export type BaseSource = 'input' | 'workflow' | 'default';

export interface Context {
  octokit: Octokit;
  owner: string;
  repo: string;
  full: string;
  logger: Logger;
}
