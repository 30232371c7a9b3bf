/**
 * Everything the action needs from the GitHub Actions runner, as one
 * interface. The entry points (src/entry/) implement it with @actions/core;
 * tests implement it in memory (test-support/action-runtime.ts, which runs the steps in
 * process in __tests__/unit/action/).
 */
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import type { AwsClients } from '../aws/clients.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Octokit } from '../cluster-update/pull-request/index.js';

export interface ActionRuntime {
  /** Raw input value, '' when unset. */
  getInput(name: string): string;
  setOutput(name: string, value: string): void;
  saveState(key: string, value: string): void;
  getState(key: string): string;
  /** Appends markdown to the job summary. */
  writeSummary(markdown: string): Promise<void>;
  getIdToken(audience: string): Promise<string>;
  maskSecret(value: string): void;
  setFailed(message: string): void;
  logger: Logger;
  clock: Clock;
  /** Aborted when the runner cancels the job (SIGINT, then SIGTERM). */
  signal: AbortSignal;
  env: NodeJS.ProcessEnv;
  /** Builds the AWS clients; replaceable so tests can hand in mocks. */
  createClients(region: string, credentials?: AwsCredentialIdentityProvider): AwsClients;
  /** HTTP for the registries (globalThis.fetch). */
  fetch: typeof fetch;
  /** A GitHub client for the runner's API (GITHUB_API_URL), authenticated with `token`. */
  createOctokit(token: string): Octokit;
}
