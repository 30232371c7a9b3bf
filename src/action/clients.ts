/**
 * The AWS clients a step works with: the runtime builds them (so tests hand in mocks), with
 * credentials from the runner's OIDC token when a role is to be assumed, and the runner's own
 * credentials otherwise.
 */
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { createFederationStsClient, type AwsClients } from '../aws/clients.js';
import { webIdentityCredentials } from '../aws/credentials.js';
import { runContextFromEnv } from '../config/run-context.js';
import type { CredentialsConfig } from '../config/types.js';
import type { ActionRuntime } from './runtime.js';

function credentialProvider(
  rt: ActionRuntime,
  region: string,
  credentials: CredentialsConfig,
): AwsCredentialIdentityProvider | undefined {
  const roleToAssume = credentials.roleToAssume;
  if (!roleToAssume) return undefined;
  return webIdentityCredentials(
    { ...credentials, roleToAssume },
    {
      getIdToken: (audience) => rt.getIdToken(audience),
      sts: createFederationStsClient(region),
      clock: rt.clock,
      logger: rt.logger,
      maskSecret: (v) => rt.maskSecret(v),
      oidcAvailable: runContextFromEnv(rt.env).oidcAvailable,
    },
  );
}

/** The step's clients for `region`, as the credentials inputs say; the caller destroys them. */
export function clientsFor(
  rt: ActionRuntime,
  region: string,
  credentials: CredentialsConfig,
): AwsClients {
  return rt.createClients(region, credentialProvider(rt, region, credentials));
}
