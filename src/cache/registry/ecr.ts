/**
 * Registry credentials for Amazon ECR private registries, from GetAuthorizationToken, for the
 * digest resolver's `credentialsFor`. The ECR API call must go to the registry's own region, so
 * the caller gives a factory of clients per region.
 */
import {
  GetAuthorizationTokenCommand,
  type ECRClient,
  type GetAuthorizationTokenCommandOutput,
} from '@aws-sdk/client-ecr';
import { systemClock, type Clock } from '../../core/clock.js';
import { errorMessage } from '../../core/errors.js';
import { awsErrorName } from '../../aws/errors.js';
import type { CredentialsProvider, RegistryCredentials } from './auth.js';

export interface EcrRegistry {
  accountId: string;
  region: string;
}

/** Makes (or returns) an ECR client for a region. Called at most once per region. */
export type EcrClientFactory = (region: string) => ECRClient;

/**
 * The ECR private registry hosts, as the kubelet's ecr-credential-provider matches them
 * (kubernetes/cloud-provider-aws cmd/ecr-credential-provider/main.go ecrPrivateHostPattern):
 * <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn], the dual-stack
 * <account>.dkr-ecr[-fips].<region>.on.aws, and the other partitions' domains.
 */
const ECR_HOST =
  /^(\d{12})\.dkr[.-]ecr(?:-fips)?\.([a-zA-Z0-9][a-zA-Z0-9-_]*)\.(?:amazonaws\.(?:com(?:\.cn)?|eu)|on\.(?:aws|amazonwebservices\.com\.cn)|sc2s\.sgov\.gov|c2s\.ic\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)$/;
/** Renew this long before ECR says the token expires (tokens last 12 hours). */
const RENEW_BEFORE_MS = 5 * 60_000;
const DEFAULT_LIFETIME_MS = 12 * 60 * 60_000;

/** The account and region of an ECR private registry host (port ignored); undefined for others. */
export function parseEcrRegistry(registry: string): EcrRegistry | undefined {
  const host = registry.toLowerCase().replace(/:\d+$/, '');
  const match = ECR_HOST.exec(host);
  if (!match) return undefined;
  const accountId = match[1];
  const region = match[2];
  return accountId && region ? { accountId, region } : undefined;
}

interface EcrToken {
  credentials: RegistryCredentials;
  expiresAt: number;
}

/** GetAuthorizationToken for the registry's account, with the error explained. */
async function getAuthorizationToken(
  ecr: EcrRegistry,
  client: EcrClientFactory,
): Promise<GetAuthorizationTokenCommandOutput> {
  try {
    return await client(ecr.region).send(
      new GetAuthorizationTokenCommand({ registryIds: [ecr.accountId] }),
    );
  } catch (error) {
    const name = awsErrorName(error);
    const hint =
      name === 'AccessDeniedException'
        ? ' (the runner role needs ecr:GetAuthorizationToken, and ecr:BatchGetImage and ' +
          'ecr:GetDownloadUrlForLayer on the repository)'
        : '';
    throw new Error(
      `ECR GetAuthorizationToken for account ${ecr.accountId} in ${ecr.region} failed: ` +
        `${name && name !== 'Error' ? `${name}: ` : ''}${errorMessage(error)}${hint}`,
      { cause: error },
    );
  }
}

/** The user and password in the answer's base64 "user:password" token, and when it expires. */
function decodeToken(
  ecr: EcrRegistry,
  output: GetAuthorizationTokenCommandOutput,
  clock: Clock,
): EcrToken {
  const data = output.authorizationData?.[0];
  const token = data?.authorizationToken;
  if (!token) {
    throw new Error(
      `ECR GetAuthorizationToken for account ${ecr.accountId} in ${ecr.region} returned no token`,
    );
  }
  const decoded = Buffer.from(token, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) {
    throw new Error(
      `ECR GetAuthorizationToken for account ${ecr.accountId} in ${ecr.region} returned a ` +
        'token that is not base64 "user:password"',
    );
  }
  const expiresAt = data.expiresAt?.getTime() ?? clock.now() + DEFAULT_LIFETIME_MS;
  return {
    credentials: { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) },
    expiresAt,
  };
}

/**
 * A credentials provider: for ECR private registry hosts, the user `AWS` and the password from
 * GetAuthorizationToken (registryIds: [account]) with a client for the host's region; undefined
 * (anonymous) for every other host. Tokens are cached per registry until 5 minutes before they
 * expire; failures are not cached.
 * @throws Error naming the account, region and AWS error when GetAuthorizationToken fails.
 */
export function ecrCredentials(
  clientFor: EcrClientFactory,
  options: { clock?: Clock } = {},
): CredentialsProvider {
  const clock = options.clock ?? systemClock;
  const clients = new Map<string, ECRClient>();
  const cache = new Map<string, Promise<EcrToken>>();

  const client = (region: string): ECRClient => {
    let found = clients.get(region);
    if (!found) {
      found = clientFor(region);
      clients.set(region, found);
    }
    return found;
  };

  const fetchToken = async (ecr: EcrRegistry): Promise<EcrToken> =>
    decodeToken(ecr, await getAuthorizationToken(ecr, client), clock);

  return async (registry: string): Promise<RegistryCredentials | undefined> => {
    const ecr = parseEcrRegistry(registry);
    if (!ecr) return undefined;
    const key = registry.toLowerCase();
    const cached = cache.get(key);
    if (cached) {
      const entry = await cached;
      if (entry.expiresAt - RENEW_BEFORE_MS > clock.now()) return entry.credentials;
      if (cache.get(key) === cached) cache.delete(key);
    }
    let pending = cache.get(key);
    if (!pending) {
      const request = fetchToken(ecr);
      pending = request;
      cache.set(key, request);
      request.catch(() => {
        if (cache.get(key) === request) cache.delete(key);
      });
    }
    return (await pending).credentials;
  };
}
