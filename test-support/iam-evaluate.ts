/**
 * Evaluates what AWS authorizes for the action's calls (./iam-authorization.ts) against
 * the example policies, with @cloud-copilot/iam-simulate: an IAM policy evaluator that
 * validates the action, the resource ARN's type and the condition keys against the
 * Service Authorization Reference data it ships, then applies IAM's evaluation logic.
 *
 * The evaluator is AGPL-3.0: a devDependency used by tests only, never imported by src/
 * and never bundled (see CONTRIBUTING.md).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createValidatedPolicy, validateTrustPolicy } from '@cloud-copilot/iam-policy';
import { runSimulation, runUnsafeSimulation } from '@cloud-copilot/iam-simulate';
import type { ApiCall } from './counting-proxy.js';
import { ACCOUNT, authorizationsOf, type AuthorizationRequest } from './iam-authorization.js';
import { REPO_ROOT } from './runner.js';

/** The workflow's role session, as STS names it after AssumeRoleWithWebIdentity. */
export const ROLE_SESSION = `arn:aws:sts::${ACCOUNT}:assumed-role/snapshot-builder/GitHubActions`;

export interface Policies {
  /** The role's permissions policy (examples/iam-policy.json). */
  permissions: unknown;
  /** The role's trust policy (examples/oidc-trust-policy.json). */
  trust: unknown;
}

export function examplePolicies(): Policies {
  const read = (file: string) =>
    JSON.parse(readFileSync(join(REPO_ROOT, 'examples', file), 'utf8')) as unknown;
  return { permissions: read('iam-policy.json'), trust: read('oidc-trust-policy.json') };
}

export type Result = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied';

export interface Decision {
  request: AuthorizationRequest;
  result: Result;
  /** Sids of the statements that allowed (or denied) it. */
  statements: string[];
}

function sidsOf(statements: Array<{ explain?: { identifier?: string } }> | undefined): string[] {
  return (statements ?? []).map((s) => s.explain?.identifier ?? '?');
}

/**
 * The role's trust policy, evaluated as a resource policy on the role. The SAR's list of
 * condition keys for AssumeRoleWithWebIdentity omits `<provider>:sub` and `:aud` (IAM
 * documents them in "Available keys for AWS OIDC federation"), and the validating entry
 * point drops keys not in that list, so trust policies go through the unvalidated one
 * (after the trust policy's own syntax check).
 */
function evaluateTrust(request: AuthorizationRequest, trust: unknown): Decision {
  const policy = createValidatedPolicy(trust, validateTrustPolicy, { name: 'trust' });
  if (policy.errors.length)
    throw new Error(`The trust policy is not valid: ${JSON.stringify(policy.errors)}`);
  const result = runUnsafeSimulation(
    {
      request: {
        principal: request.principal ?? '',
        action: request.action,
        resource: { resource: request.resource, accountId: ACCOUNT },
        contextVariables: request.context,
      },
      identityPolicies: [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: policy,
    },
    {},
  );
  return { request, result: result as Result, statements: [] };
}

export async function evaluate(
  request: AuthorizationRequest,
  policies: Policies,
): Promise<Decision> {
  if (request.kind === 'trust') return evaluateTrust(request, policies.trust);
  const response = await runSimulation(
    {
      request: {
        principal: ROLE_SESSION,
        action: request.action,
        resource: { resource: request.resource, accountId: ACCOUNT },
        contextVariables: request.context,
      },
      identityPolicies: [{ name: 'permissions', policy: policies.permissions }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(request.resourcePolicy ? { resourcePolicy: request.resourcePolicy } : {}),
    },
    {},
  );
  if (response.resultType === 'error')
    throw new Error(
      `${request.call}: the evaluator refused ${request.action} on ${request.resource}: ${JSON.stringify(response.errors)}`,
    );
  const analysis =
    response.resultType === 'single' ? response.result.analysis : response.results[0]?.analysis;
  const identity = analysis?.identityAnalysis;
  const result = response.overallResult as Result;
  return {
    request,
    result,
    statements: sidsOf(result === 'Allowed' ? identity?.allowStatements : identity?.denyStatements),
  };
}

/** Every authorization of every call, evaluated. Throws, naming it, on a call with no mapping. */
export async function evaluateCalls(calls: ApiCall[], policies: Policies): Promise<Decision[]> {
  const decisions: Decision[] = [];
  for (const call of calls)
    for (const request of authorizationsOf(call)) decisions.push(await evaluate(request, policies));
  return decisions;
}

/** One line per decision that is not Allowed, for a failure message. */
export function describeDenials(decisions: Decision[]): string[] {
  return decisions
    .filter((d) => d.result !== 'Allowed')
    .map(
      (d) =>
        `${d.result}: ${d.request.call} needs ${d.request.action} on ${d.request.resource} with ${JSON.stringify(d.request.context)}`,
    );
}

/** Sids of the permission statements some decision was allowed by. */
export function statementsUsed(decisions: Decision[]): string[] {
  return [
    ...new Set(decisions.filter((d) => d.result === 'Allowed').flatMap((d) => d.statements)),
  ].sort();
}

/**
 * Keeps a bundle test file's evaluation in .tmp/iam-evaluation/<name>.json, so that
 * `npm test` can report the statements no call of any file needed (scripts/test.ts).
 */
export function saveEvaluation(name: string, calls: ApiCall[], decisions: Decision[]): void {
  const dir = join(REPO_ROOT, '.tmp', 'iam-evaluation');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, `${name}.json`),
    JSON.stringify(
      {
        calls,
        decisions: decisions.map((d) => ({
          call: d.request.call,
          action: d.request.action,
          resource: d.request.resource,
          result: d.result,
          statements: d.statements,
        })),
        statementsUsed: statementsUsed(decisions),
      },
      null,
      2,
    ),
  );
}
