/**
 * A minimal read-only OCI distribution client: GET manifests and blobs of a repository,
 * authenticating when the registry asks to (auth.ts), over a transport with retries, timeouts,
 * manual redirects and size limits (http.ts), with errors whose reason says what went wrong
 * (errors.ts, status.ts).
 *
 * Secrets (passwords, tokens) are only ever put in Authorization headers: never in a log line,
 * an error message or a URL.
 */
import type { Deps } from '../../core/deps.js';
import { RegistryAuth, type CredentialsProvider } from './auth.js';
import type { RegistryError } from './errors.js';
import {
  DEFAULT_TIMEOUT_MS,
  RegistryHttp,
  registryBaseUrl,
  type Exchange,
  type RepositoryTarget,
} from './http.js';
import { statusError } from './status.js';

export interface RegistryDeps extends Deps {
  /** Injectable for tests; the global fetch in production. */
  fetch: typeof fetch;
  /** Credentials for a registry host; undefined (or no provider) = anonymous. */
  credentialsFor?: CredentialsProvider;
  /** Per HTTP request (including its redirects and body), default 15000. */
  timeoutMs?: number;
  /**
   * Registers a secret the moment this client holds it (a registry password, the Basic
   * credentials made of it, a bearer token), so the runner masks it wherever it might show, e.g.
   * in a registry's error message that echoes the Authorization header.
   */
  maskSecret?: (value: string) => void;
}

export class RegistryClient {
  private readonly http: RegistryHttp;
  private readonly auth: RegistryAuth;

  constructor(deps: RegistryDeps) {
    this.http = new RegistryHttp({
      fetch: deps.fetch,
      clock: deps.clock,
      logger: deps.logger,
      signal: deps.signal,
      timeoutMs: deps.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    });
    this.auth = new RegistryAuth(deps, this.http);
  }

  /**
   * GET /v2/<repository>/<path>, authenticating when the registry asks to. Returns every
   * response but a retriable one that kept failing; 401 after authenticating is returned too.
   */
  async get(
    target: RepositoryTarget,
    path: string,
    accept: string,
    what: string,
    limit: number,
  ): Promise<Exchange> {
    const url = `${registryBaseUrl(target.registry)}/v2/${target.repository}/${path}`;
    let authenticated = false;
    // At most two rounds: as is (anonymous or with cached auth), then after a fresh challenge.
    for (let round = 1; round <= 2; round++) {
      const authorization = await this.auth.authorization(target);
      const headers: Record<string, string> = { Accept: accept };
      if (authorization) headers.Authorization = authorization;
      const response = await this.http.send({ url, headers, target, what, limit });
      if (response.status !== 401 || authenticated) return response;
      if (!(await this.auth.answerChallenge(target, response, authorization))) return response;
      authenticated = true;
    }
    throw new Error('unreachable');
  }

  /** Whether credentials are configured for the target's registry (for messages). */
  async hasCredentials(target: RepositoryTarget): Promise<boolean> {
    return this.auth.hasCredentials(target);
  }

  /** The reason for a non-2xx answer, as a RegistryError. */
  async statusError(
    target: RepositoryTarget,
    response: Exchange,
    notFound: string,
  ): Promise<RegistryError> {
    return statusError(target, response, notFound, () => this.hasCredentials(target));
  }
}
