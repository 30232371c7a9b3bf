/**
 * A loopback HTTP proxy that forwards to an AWS endpoint (moto, the SSM
 * stand-in) and records each API call's time, service and operation, for
 * counting calls per phase in the benchmarks.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ApiCall {
  at: number;
  service: string;
  operation: string;
}

export interface CountingProxy {
  url: string;
  calls: ApiCall[];
  close(): Promise<void>;
}

function operationOf(body: string, target: string | undefined): string {
  if (target) return target.split('.').pop() ?? target;
  return new URLSearchParams(body).get('Action') ?? 'unknown';
}

export async function startCountingProxy(
  upstream: string,
  service: string,
): Promise<CountingProxy> {
  const calls: ApiCall[] = [];
  const target = new URL(upstream);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const amzTarget = req.headers['x-amz-target'];
      calls.push({
        at: Date.now(),
        service,
        operation: operationOf(
          body.toString(),
          Array.isArray(amzTarget) ? amzTarget[0] : amzTarget,
        ),
      });
      const forward = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: target.host },
        },
        (upstreamRes) => {
          res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
          upstreamRes.pipe(res);
        },
      );
      forward.on('error', (e) => res.writeHead(502).end(String(e)));
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
