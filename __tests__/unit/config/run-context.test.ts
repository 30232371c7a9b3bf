/** The workflow run the action is part of, from the runner's environment, and the keys made of it. */
import { describe, expect, it } from '@jest/globals';
import {
  invocationKey,
  newInvocationId,
  runContextFromEnv,
  runKey,
  runUrl,
  type RunContext,
} from '../../../src/config/run-context.js';

const RUNNER_ENV = {
  GITHUB_REPOSITORY: 'acme/platform',
  GITHUB_RUN_ID: '4242',
  GITHUB_RUN_ATTEMPT: '3',
  GITHUB_SERVER_URL: 'https://github.example.com',
  GITHUB_SHA: 'ffac537e6cbbf934b08745a378932722df287a53',
  GITHUB_REF: 'refs/heads/main',
  GITHUB_WORKFLOW: 'Node image',
  ACTIONS_ID_TOKEN_REQUEST_URL: 'https://token.actions.example.com/x',
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'secret',
};

describe('runContextFromEnv', () => {
  it('reads everything a runner sets', () => {
    expect(runContextFromEnv(RUNNER_ENV)).toEqual({
      repository: 'acme/platform',
      runId: '4242',
      runAttempt: '3',
      serverUrl: 'https://github.example.com',
      sha: 'ffac537e6cbbf934b08745a378932722df287a53',
      branch: 'main',
      workflow: 'Node image',
      oidcAvailable: true,
    });
  });

  it('has defaults for a run outside GitHub Actions, and no optional field', () => {
    const context = runContextFromEnv({});
    expect(context).toEqual({
      repository: 'local/unknown',
      runId: '0',
      runAttempt: '1',
      serverUrl: 'https://github.com',
      oidcAvailable: false,
    });
    // exactOptionalPropertyTypes: absent, not present as undefined.
    expect(Object.keys(context)).not.toContain('branch');
    expect(Object.keys(context)).not.toContain('sha');
    expect(Object.keys(context)).not.toContain('invocation');
  });

  it('takes the branch from a branch ref only, slashes included', () => {
    const branchOf = (ref: string) => runContextFromEnv({ GITHUB_REF: ref }).branch;
    expect(branchOf('refs/heads/feature/new-node')).toBe('feature/new-node');
    expect(branchOf('refs/tags/v1.2.0')).toBeUndefined();
    expect(branchOf('refs/pull/17/merge')).toBeUndefined();
    expect(branchOf('main')).toBeUndefined();
  });

  it('offers OIDC only when both the token URL and the request token are set', () => {
    const oidc = (env: NodeJS.ProcessEnv) => runContextFromEnv(env).oidcAvailable;
    expect(oidc({ ACTIONS_ID_TOKEN_REQUEST_URL: 'https://x' })).toBe(false);
    expect(oidc({ ACTIONS_ID_TOKEN_REQUEST_TOKEN: 't' })).toBe(false);
    expect(oidc({ ACTIONS_ID_TOKEN_REQUEST_URL: '', ACTIONS_ID_TOKEN_REQUEST_TOKEN: 't' })).toBe(
      false,
    );
    expect(
      oidc({ ACTIONS_ID_TOKEN_REQUEST_URL: 'https://x', ACTIONS_ID_TOKEN_REQUEST_TOKEN: 't' }),
    ).toBe(true);
  });

  it('leaves out an empty SHA or workflow name', () => {
    const context = runContextFromEnv({ GITHUB_SHA: '', GITHUB_WORKFLOW: '' });
    expect(context.sha).toBeUndefined();
    expect(context.workflow).toBeUndefined();
  });
});

describe('newInvocationId', () => {
  it('is 12 hex digits, new each time', () => {
    const ids = Array.from({ length: 50 }, () => newInvocationId());
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(50);
  });
});

describe('the keys and the URL of a run', () => {
  const context: RunContext = {
    repository: 'acme/platform',
    runId: '4242',
    runAttempt: '3',
    serverUrl: 'https://github.example.com',
    oidcAvailable: true,
  };

  it('names the run by repository, run and attempt', () => {
    expect(runKey(context)).toBe('acme/platform/4242/3');
    expect(runKey({ ...context, runAttempt: '4' })).not.toBe(runKey(context));
    // The invocation tells uses within one run apart; it is not part of the run key.
    expect(runKey({ ...context, invocation: 'abc' })).toBe('acme/platform/4242/3');
  });

  it('adds the invocation to the invocation key when known', () => {
    expect(invocationKey(context)).toBe('acme/platform/4242/3');
    expect(invocationKey({ ...context, invocation: '0123456789ab' })).toBe(
      'acme/platform/4242/3/0123456789ab',
    );
  });

  it('links the run’s attempt on its own server', () => {
    expect(runUrl(context)).toBe(
      'https://github.example.com/acme/platform/actions/runs/4242/attempts/3',
    );
  });
});
