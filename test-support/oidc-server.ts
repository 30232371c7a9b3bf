/**
 * The runner's OIDC token endpoint, on loopback: what `core.getIDToken` calls
 * (ACTIONS_ID_TOKEN_REQUEST_URL with the request token as a bearer).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OidcServer {
  url: string;
  requestToken: string;
  /** Audiences asked for, in order. */
  readonly audiences: string[];
  close(): Promise<void>;
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export async function startOidcServer(repository = 'acme/platform'): Promise<OidcServer> {
  const requestToken = 'runner-request-token';
  const audiences: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.headers.authorization !== `Bearer ${requestToken}`) {
      res
        .writeHead(401, { 'content-type': 'application/json' })
        .end('{"message":"bad request token"}');
      return;
    }
    const audience = url.searchParams.get('audience') ?? 'https://github.com/acme';
    audiences.push(audience);
    const now = Math.floor(Date.now() / 1000);
    const jwt = [
      base64url({ alg: 'RS256', typ: 'JWT', kid: 'test' }),
      base64url({
        iss: 'https://token.actions.githubusercontent.com',
        aud: audience,
        sub: `repo:${repository}:ref:refs/heads/main`,
        repository,
        iat: now,
        exp: now + 300,
      }),
      'signature',
    ].join('.');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ value: jwt }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/token?api-version=2.0`,
    requestToken,
    audiences,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
