/**
 * What a registry's unsuccessful answer means, as a RegistryError whose reason says what to do:
 * refused (with or without credentials, and Docker Hub's answer for repositories that do not
 * exist), not found, rate limited (Docker Hub's limits per account or per IP address), a server
 * error after retries, or another status. The registry's own message is quoted when it has one.
 */
import { registryMessage, RegistryError } from './errors.js';
import { DOCKER_HUB, type Exchange, type RepositoryTarget } from './http.js';

/** Whether credentials are configured for the target's registry; asked only where it matters. */
type HasCredentials = () => Promise<boolean>;

/** The reason for a non-2xx answer, as a RegistryError. */
export async function statusError(
  target: RepositoryTarget,
  response: Exchange,
  notFound: string,
  hasCredentials: HasCredentials,
): Promise<RegistryError> {
  const { status } = response;
  const message = registryMessage(response.body, response.headers.get('content-type'));
  const detail = message ? `: ${message}` : '';
  const options = { status };
  if (status === 401 || status === 403) {
    const withCredentials = await hasCredentials();
    const hint = withCredentials
      ? `; the credentials for ${target.registry} do not grant pull access to ${target.repository}`
      : `; no credentials are configured for ${target.registry}` +
        (target.registry === DOCKER_HUB
          ? ' (Docker Hub also answers this for repositories that do not exist)'
          : '');
    return new RegistryError(
      target.reference,
      'unauthorized',
      `not authorized: ${message || `HTTP ${status}`}${hint}`,
      options,
    );
  }
  if (status === 404) {
    return new RegistryError(
      target.reference,
      'not-found',
      notFound + (message ? ` (${message})` : ''),
      options,
    );
  }
  if (status === 429) {
    return new RegistryError(
      target.reference,
      'rate-limited',
      `rate limited by ${target.registry} (HTTP 429 after ${response.attempts} attempts${detail})` +
        (await rateLimitHint(target, hasCredentials)),
      options,
    );
  }
  if (status >= 500) {
    return new RegistryError(
      target.reference,
      'server',
      `registry server error HTTP ${status} after ${response.attempts} attempts${detail}`,
      options,
    );
  }
  return new RegistryError(target.reference, 'http', `unexpected HTTP ${status}${detail}`, options);
}

async function rateLimitHint(
  target: RepositoryTarget,
  hasCredentials: HasCredentials,
): Promise<string> {
  if (target.registry !== DOCKER_HUB) return '';
  if (await hasCredentials()) {
    return '; Docker Hub limits pulls per account: wait, or use an account with a higher limit';
  }
  return (
    '; Docker Hub limits anonymous pulls per IP address (runners share addresses): ' +
    'configure Docker Hub credentials, or use a mirror such as public.ecr.aws/docker/library'
  );
}
