/**
 * What the action knows about the workflow run it is part of, read from the
 * runner's environment by the entry points and passed in as plain data.
 */
import { randomBytes } from 'node:crypto';
export interface RunContext {
  /** owner/name */
  repository: string;
  runId: string;
  runAttempt: string;
  serverUrl: string;
  sha?: string;
  /** Branch the workflow ran on, when it ran on one (from GITHUB_REF refs/heads/...). */
  branch?: string;
  workflow?: string;
  /** Whether the job may request an OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL is set). */
  oidcAvailable: boolean;
  /**
   * This use of the action: a random ID the main step makes and saves for its post step.
   * Matrix jobs and repeated steps share the run ID; this tells their resources apart.
   */
  invocation?: string;
}

export function runContextFromEnv(env: NodeJS.ProcessEnv): RunContext {
  const ref = env.GITHUB_REF ?? '';
  const context: RunContext = {
    repository: env.GITHUB_REPOSITORY ?? 'local/unknown',
    runId: env.GITHUB_RUN_ID ?? '0',
    runAttempt: env.GITHUB_RUN_ATTEMPT ?? '1',
    serverUrl: env.GITHUB_SERVER_URL ?? 'https://github.com',
    oidcAvailable: Boolean(env.ACTIONS_ID_TOKEN_REQUEST_URL && env.ACTIONS_ID_TOKEN_REQUEST_TOKEN),
  };
  if (env.GITHUB_SHA) context.sha = env.GITHUB_SHA;
  if (ref.startsWith('refs/heads/')) context.branch = ref.slice('refs/heads/'.length);
  if (env.GITHUB_WORKFLOW) context.workflow = env.GITHUB_WORKFLOW;
  return context;
}

/** A new invocation ID: 12 hex digits. */
export function newInvocationId(): string {
  return randomBytes(6).toString('hex');
}

/** One value naming this run across retries of the same attempt. */
export function runKey(context: RunContext): string {
  return `${context.repository}/${context.runId}/${context.runAttempt}`;
}

/** What tells this use of the action apart from every other: run key and invocation. */
export function invocationKey(context: RunContext): string {
  return context.invocation ? `${runKey(context)}/${context.invocation}` : runKey(context);
}

export function runUrl(context: RunContext): string {
  return `${context.serverUrl}/${context.repository}/actions/runs/${context.runId}/attempts/${context.runAttempt}`;
}
