/**
 * A loopback HTTP front for the test registry that answers some requests with an error status
 * instead of forwarding them, as an overloaded or rate-limiting registry does: for requests under
 * `/v2/<repository>/`, the first `times` get `status` (with a Docker-style error body), the rest
 * are forwarded untouched. Images pulled through it are named with its host:port.
 *
 * Test support only: never bundled into the action.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RegistryFault {
  repository: string;
  status: number;
  /** How many requests to that repository fail before the rest are forwarded. */
  times: number;
}

export interface RegistryFront {
  host: string;
  /** Requests answered with a fault, per repository. */
  failed: Record<string, number>;
  close(): Promise<void>;
}

const STATUS_TEXT: Record<number, string> = {
  429: 'TOOMANYREQUESTS',
  502: 'UNAVAILABLE',
  503: 'UNAVAILABLE',
};

export async function startRegistryFront(
  upstreamHost: string,
  faults: RegistryFault[],
): Promise<RegistryFront> {
  const failed: Record<string, number> = {};
  const [hostname, port] = upstreamHost.split(':');
  const server: Server = createServer((req, res) => {
    const fault = faults.find((f) => req.url?.startsWith(`/v2/${f.repository}/`));
    if (fault && (failed[fault.repository] ?? 0) < fault.times) {
      failed[fault.repository] = (failed[fault.repository] ?? 0) + 1;
      const code = STATUS_TEXT[fault.status] ?? 'UNKNOWN';
      res.writeHead(fault.status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code, message: 'injected by the test' }] }));
      req.resume();
      return;
    }
    const forward = httpRequest(
      { hostname, port, method: req.method, path: req.url, headers: req.headers },
      (upstream) => {
        res.writeHead(upstream.statusCode ?? 502, upstream.headers);
        upstream.pipe(res);
      },
    );
    forward.setTimeout(30_000, () => forward.destroy(new Error('upstream timed out')));
    forward.on('error', (e) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(String(e));
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: own } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${own}`,
    failed,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
