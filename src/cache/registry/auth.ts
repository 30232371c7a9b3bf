/**
 * Registry authentication as the distribution spec's token flow has it: a 401 names a
 * challenge (Bearer with a token service realm, or Basic); Bearer tokens are requested per
 * registry and repository with the `repository:<name>:pull` scope, with Basic credentials when
 * the registry has some, and cached until shortly before they expire; Basic registries get the
 * credentials themselves. Credentials come from a provider per registry (e.g. ECR).
 *
 * Secrets (passwords, tokens) are only ever put in Authorization headers: never in a log line,
 * an error message or a URL; each is registered with `maskSecret` the moment it is held.
 */
import type { Deps } from '../../core/deps.js';
import { errorMessage } from '../../core/errors.js';
import { registryMessage, RegistryError } from './errors.js';
import { isLoopbackHost, type Exchange, type RegistryHttp, type RepositoryTarget } from './http.js';
import { statusError } from './status.js';

export interface RegistryCredentials {
  username: string;
  password: string;
}

/** Credentials for a registry host (e.g. from ECR GetAuthorizationToken); undefined = anonymous. */
export type CredentialsProvider = (registry: string) => Promise<RegistryCredentials | undefined>;

export interface AuthDeps extends Pick<Deps, 'clock'> {
  /** Credentials for a registry host; undefined (or no provider) = anonymous. */
  credentialsFor?: CredentialsProvider;
  /**
   * Registers a secret the moment this client holds it (a registry password, the Basic
   * credentials made of it, a bearer token), so the runner masks it wherever it might show, e.g.
   * in a registry's error message that echoes the Authorization header.
   */
  maskSecret?: (value: string) => void;
}

type BearerChallenge = { scheme: 'bearer'; realm: string; service?: string };
type Challenge = BearerChallenge | { scheme: 'basic'; realm?: string };

interface CachedToken {
  token: string;
  expiresAt: number;
}

const TOKEN_LIMIT = 1024 * 1024;
const DEFAULT_TOKEN_LIFETIME_S = 60;

export class RegistryAuth {
  /** Per registry: how it asked to authenticate. */
  private readonly challenges = new Map<string, Challenge>();
  /** Per registry + repository: the pull token (a promise, so concurrent requests share one). */
  private readonly tokens = new Map<string, Promise<CachedToken>>();
  /** Per registry: the credentials provider's answer. */
  private readonly credentials = new Map<string, Promise<RegistryCredentials | undefined>>();

  constructor(
    private readonly deps: AuthDeps,
    private readonly http: RegistryHttp,
  ) {}

  /** The Authorization header for the target, as its registry last asked; undefined: none. */
  async authorization(target: RepositoryTarget): Promise<string | undefined> {
    const challenge = this.challenges.get(target.registry);
    if (!challenge) return undefined;
    if (challenge.scheme === 'basic') {
      const credentials = await this.credentialsFor(target);
      return credentials ? basicAuthorization(credentials) : undefined;
    }
    return `Bearer ${await this.token(target, challenge)}`;
  }

  /**
   * Takes in the challenge of a 401 answered to a request sent with `authorization`. Returns
   * whether the request is worth sending again: there was a challenge, and for Basic there are
   * credentials to answer it with.
   */
  async answerChallenge(
    target: RepositoryTarget,
    response: Exchange,
    authorization: string | undefined,
  ): Promise<boolean> {
    const challenge = parseChallenge(response.headers.get('www-authenticate'));
    if (!challenge) return false;
    this.challenges.set(target.registry, challenge);
    // A token that was refused (expired, revoked) must not be offered again; one that
    // another request got meanwhile is kept.
    if (authorization?.startsWith('Bearer ')) {
      await this.forgetToken(target, authorization.slice('Bearer '.length));
    }
    return !(challenge.scheme === 'basic' && !(await this.credentialsFor(target)));
  }

  /** Whether credentials are configured for the target's registry (for messages). */
  async hasCredentials(target: RepositoryTarget): Promise<boolean> {
    return (await this.credentialsFor(target)) !== undefined;
  }

  /** Registers the password, and the Basic credentials made of it, as secrets. */
  private masked(credentials: RegistryCredentials | undefined): RegistryCredentials | undefined {
    if (credentials) {
      this.deps.maskSecret?.(credentials.password);
      this.deps.maskSecret?.(basicAuthorization(credentials).slice('Basic '.length));
    }
    return credentials;
  }

  private credentialsFor(target: RepositoryTarget): Promise<RegistryCredentials | undefined> {
    let pending = this.credentials.get(target.registry);
    if (!pending) {
      const provider = this.deps.credentialsFor;
      pending = provider
        ? provider(target.registry).then(
            (credentials) => this.masked(credentials),
            (error: unknown) => {
              this.credentials.delete(target.registry);
              throw new RegistryError(
                target.reference,
                'unauthorized',
                `could not get credentials for ${target.registry}: ${errorMessage(error)}`,
                { cause: error },
              );
            },
          )
        : Promise.resolve(undefined);
      this.credentials.set(target.registry, pending);
    }
    return pending;
  }

  private async token(target: RepositoryTarget, challenge: BearerChallenge): Promise<string> {
    const key = tokenKey(target);
    const cached = this.tokens.get(key);
    if (cached) {
      const token = await cached;
      if (token.expiresAt > this.deps.clock.now()) return token.token;
      if (this.tokens.get(key) === cached) this.tokens.delete(key);
    }
    let pending = this.tokens.get(key);
    if (!pending) {
      const request = this.requestToken(target, challenge);
      pending = request;
      this.tokens.set(key, request);
      request.catch(() => {
        if (this.tokens.get(key) === request) this.tokens.delete(key);
      });
    }
    return (await pending).token;
  }

  private async forgetToken(target: RepositoryTarget, refused: string): Promise<void> {
    const key = tokenKey(target);
    const cached = this.tokens.get(key);
    if (!cached) return;
    const token = await cached.catch(() => undefined);
    if (token?.token === refused && this.tokens.get(key) === cached) this.tokens.delete(key);
  }

  /** Asks the challenge's token service for a pull token for the target's repository. */
  private async requestToken(
    target: RepositoryTarget,
    challenge: BearerChallenge,
  ): Promise<CachedToken> {
    const realm = tokenRealm(target, challenge);
    const credentials = await this.credentialsFor(target);
    const headers = tokenRequest(target, challenge, realm, credentials);
    const response = await this.http.send({
      url: realm.toString(),
      headers,
      target,
      what: 'token',
      limit: TOKEN_LIMIT,
    });
    if (response.status === 401 || response.status === 403) {
      throw tokenRefusal(target, realm, response, credentials !== undefined);
    }
    if (response.status < 200 || response.status > 299) {
      throw await statusError(
        target,
        response,
        `the token service ${realm.origin}${realm.pathname} was not found`,
        () => this.hasCredentials(target),
      );
    }
    const { token, lifetime } = tokenOf(target, realm, response);
    this.deps.maskSecret?.(token);
    return { token, expiresAt: this.deps.clock.now() + lifetime * 1000 * 0.9 };
  }
}

/** A token service's refusal, as an `unauthorized` RegistryError. */
function refusal(target: RepositoryTarget, reason: string, status?: number): RegistryError {
  return new RegistryError(target.reference, 'unauthorized', reason, status ? { status } : {});
}

/** The challenge's token service URL, if it is one this client may call. */
function tokenRealm(target: RepositoryTarget, challenge: BearerChallenge): URL {
  let realm: URL;
  try {
    realm = new URL(challenge.realm);
  } catch {
    throw refusal(target, `${target.registry} named an invalid token service URL`);
  }
  if (realm.protocol !== 'https:' && realm.protocol !== 'http:') {
    throw refusal(target, `${target.registry} named a token service that is not http(s)`);
  }
  return realm;
}

/**
 * Puts service, scope and account in `realm`'s query, and returns the request's headers.
 * Refuses to send credentials over plain http to anything but a loopback host.
 */
function tokenRequest(
  target: RepositoryTarget,
  challenge: BearerChallenge,
  realm: URL,
  credentials: RegistryCredentials | undefined,
): Record<string, string> {
  if (credentials && realm.protocol === 'http:' && !isLoopbackHost(realm.host)) {
    throw refusal(
      target,
      `refusing to send the credentials for ${target.registry} over plain http to ${realm.host}`,
    );
  }
  if (challenge.service !== undefined) realm.searchParams.set('service', challenge.service);
  realm.searchParams.append('scope', `repository:${target.repository}:pull`);
  if (credentials) realm.searchParams.set('account', credentials.username);
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (credentials) headers.Authorization = basicAuthorization(credentials);
  return headers;
}

/** A 401/403 of the token service, saying whose access it refused. */
function tokenRefusal(
  target: RepositoryTarget,
  realm: URL,
  response: Exchange,
  withCredentials: boolean,
): RegistryError {
  const message = registryMessage(response.body, response.headers.get('content-type'));
  return refusal(
    target,
    `not authorized: the token service ${realm.host} refused ` +
      (withCredentials ? `the credentials for ${target.registry}` : 'anonymous access') +
      (message ? `: ${message}` : ` (HTTP ${response.status})`),
    response.status,
  );
}

/** The token (`token` or `access_token`) and its lifetime in seconds, from the answer's JSON. */
function tokenOf(
  target: RepositoryTarget,
  realm: URL,
  response: Exchange,
): { token: string; lifetime: number } {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(response.body));
  } catch {
    json = undefined;
  }
  const record = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  const token = [record.token, record.access_token].find(
    (value): value is string => typeof value === 'string' && value !== '',
  );
  if (!token) {
    throw new RegistryError(
      target.reference,
      'invalid',
      `the token service ${realm.host} answered without a token`,
    );
  }
  const lifetime =
    typeof record.expires_in === 'number' && record.expires_in > 0
      ? record.expires_in
      : DEFAULT_TOKEN_LIFETIME_S;
  return { token, lifetime };
}

function tokenKey(target: RepositoryTarget): string {
  return `${target.registry}/${target.repository}`;
}

function basicAuthorization(credentials: RegistryCredentials): string {
  const pair = `${credentials.username}:${credentials.password}`;
  return `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
}

/** Parses `Bearer realm="...",service="..."` or `Basic realm="..."`; undefined for others. */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const match = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(header);
  if (!match) return undefined;
  const scheme = (match[1] ?? '').toLowerCase();
  const params = new Map<string, string>();
  const param = /([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g;
  for (const found of (match[2] ?? '').matchAll(param)) {
    const key = (found[1] ?? '').toLowerCase();
    const value = found[2] !== undefined ? found[2].replace(/\\(.)/g, '$1') : (found[3] ?? '');
    if (!params.has(key)) params.set(key, value);
  }
  if (scheme === 'bearer') {
    const realm = params.get('realm');
    if (!realm) return undefined;
    const service = params.get('service');
    return service === undefined ? { scheme, realm } : { scheme, realm, service };
  }
  if (scheme === 'basic') {
    const realm = params.get('realm');
    return realm === undefined ? { scheme } : { scheme, realm };
  }
  return undefined;
}
