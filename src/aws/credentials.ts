/**
 * AWS credentials for the run: either the SDK's default chain (the runner's
 * ambient credentials), or a role assumed with the job's GitHub OIDC token.
 *
 * The OIDC provider is refreshable: each refresh asks the runner for a fresh
 * ID token and calls AssumeRoleWithWebIdentity again, so a build that outlives
 * the first session keeps working.
 */
import {
  AssumeRoleWithWebIdentityCommand,
  GetCallerIdentityCommand,
  type STSClient,
} from '@aws-sdk/client-sts';
import { memoize } from '@smithy/property-provider';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { Deps } from '../core/deps.js';
import { ActionError, errorMessage } from '../core/errors.js';
import { awsErrorName } from './errors.js';
import type { CredentialsConfig } from '../config/types.js';

/**
 * No signal: the credentials outlive cancellation on purpose. A cancelled or timed-out build
 * still terminates its builder and deletes what it made with them (src/build/resources.ts),
 * and a refresh may fall due just then. Each AssumeRoleWithWebIdentity call has a bound of its
 * own instead (ASSUME_TIMEOUT_MS).
 */
export interface WebIdentityDeps extends Omit<Deps, 'signal'> {
  /** Asks the runner for an OIDC token for `audience` (core.getIDToken). */
  getIdToken: (audience: string) => Promise<string>;
  /** An STS client for the region, without credentials (the call is unsigned). */
  sts: STSClient;
  /** Registers a value that must never appear in logs (core.setSecret). */
  maskSecret: (value: string) => void;
  /** Whether the job may request OIDC tokens at all (`id-token: write`). */
  oidcAvailable: boolean;
}

/** Refresh this long before the session expires. */
const REFRESH_MARGIN_MS = 5 * 60 * 1000;
/** STS answers the federation call with this when GitHub's OIDC endpoint was slow; it is worth retrying. */
const RETRYABLE_ASSUME_ERRORS = new Set([
  'IDPCommunicationErrorException',
  'IDPCommunicationError',
]);
const MAX_ASSUME_ATTEMPTS = 4;
/** One AssumeRoleWithWebIdentity call, with the SDK's retries of it. */
const ASSUME_TIMEOUT_MS = 60_000;

export function webIdentityCredentials(
  config: Required<Pick<CredentialsConfig, 'roleToAssume'>> & CredentialsConfig,
  deps: WebIdentityDeps,
): AwsCredentialIdentityProvider {
  const assume = async (): Promise<AwsCredentialIdentity> => {
    if (!deps.oidcAvailable) {
      throw new ActionError(
        "Input 'role-to-assume' is set, but this job cannot request a GitHub OIDC token. " +
          'Add `permissions: { id-token: write, contents: read }` to the job (or workflow), ' +
          'or remove role-to-assume to use the credentials already configured on the runner.',
      );
    }
    let token: string;
    try {
      token = await deps.getIdToken(config.audience);
    } catch (error) {
      throw new ActionError(
        `Could not get a GitHub OIDC token for audience '${config.audience}': ${errorMessage(error)}. ` +
          'Check that the job has `permissions: id-token: write`.',
        { cause: error },
      );
    }
    deps.maskSecret(token);
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await deps.sts.send(
          new AssumeRoleWithWebIdentityCommand({
            RoleArn: config.roleToAssume,
            RoleSessionName: config.roleSessionName,
            DurationSeconds: config.roleDurationSeconds,
            WebIdentityToken: token,
          }),
          { abortSignal: AbortSignal.timeout(ASSUME_TIMEOUT_MS) },
        );
        const c = response.Credentials;
        if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken) {
          throw new ActionError('STS AssumeRoleWithWebIdentity returned no credentials.');
        }
        deps.maskSecret(c.SecretAccessKey);
        deps.maskSecret(c.SessionToken);
        const identity: AwsCredentialIdentity = {
          accessKeyId: c.AccessKeyId,
          secretAccessKey: c.SecretAccessKey,
          sessionToken: c.SessionToken,
          ...(c.Expiration ? { expiration: new Date(c.Expiration) } : {}),
        };
        deps.logger.debug(
          `Assumed ${config.roleToAssume} as ${response.AssumedRoleUser?.Arn ?? 'unknown'} until ${c.Expiration?.toISOString() ?? 'unknown'}.`,
        );
        return identity;
      } catch (error) {
        const name = awsErrorName(error) ?? '';
        if (RETRYABLE_ASSUME_ERRORS.has(name) && attempt < MAX_ASSUME_ATTEMPTS) {
          const delay = 1000 * 2 ** (attempt - 1);
          deps.logger.warning(
            `AssumeRoleWithWebIdentity failed with ${name} (attempt ${attempt}/${MAX_ASSUME_ATTEMPTS}); retrying in ${delay / 1000}s.`,
          );
          await deps.clock.sleep(delay);
          continue;
        }
        throw explainAssumeRoleError(error, config.roleToAssume);
      }
    }
  };
  return memoize(
    assume,
    (c) =>
      c.expiration !== undefined && c.expiration.getTime() - deps.clock.now() <= REFRESH_MARGIN_MS,
    (c) => c.expiration !== undefined,
  );
}

function explainAssumeRoleError(error: unknown, roleArn: string): Error {
  if (error instanceof ActionError) return error;
  const name = awsErrorName(error) ?? 'Error';
  const message = errorMessage(error);
  if (name === 'AccessDenied' || name === 'AccessDeniedException') {
    return new ActionError(
      `Not authorized to assume ${roleArn} with this workflow's OIDC token: ${message}. ` +
        "Check the role's trust policy: it must trust token.actions.githubusercontent.com with " +
        "the audience you use and a 'sub' condition that matches this repository and ref " +
        '(see examples/oidc-trust-policy.json).',
      { cause: error },
    );
  }
  if (name === 'InvalidIdentityTokenException' || name === 'InvalidIdentityToken') {
    return new ActionError(
      `STS rejected the GitHub OIDC token: ${message}. Make sure the IAM OIDC provider for ` +
        'token.actions.githubusercontent.com exists in the account and lists the audience you set.',
      { cause: error },
    );
  }
  return new ActionError(`Could not assume ${roleArn}: ${name}: ${message}`, { cause: error });
}

export interface CallerIdentity {
  account: string;
  arn: string;
}

/** Proves the credentials work before anything is created, and says whose they are. */
export async function checkCallerIdentity(
  sts: STSClient,
  signal: AbortSignal,
): Promise<CallerIdentity> {
  try {
    const out = await sts.send(new GetCallerIdentityCommand({}), { abortSignal: signal });
    return { account: out.Account ?? 'unknown', arn: out.Arn ?? 'unknown' };
  } catch (error) {
    if (error instanceof ActionError) throw error;
    const name = awsErrorName(error) ?? 'Error';
    if (name === 'CredentialsProviderError') {
      throw new ActionError(
        'No AWS credentials found. Set role-to-assume (with `permissions: id-token: write`), ' +
          'or configure credentials on the runner before this step.',
        { cause: error },
      );
    }
    throw new ActionError(`The AWS credentials do not work: ${name}: ${errorMessage(error)}`, {
      cause: error,
    });
  }
}
