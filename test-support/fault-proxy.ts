/**
 * A loopback HTTP proxy in front of an AWS endpoint (moto) that makes chosen API
 * calls go wrong the way networks and processes do, after the request has reached
 * the service, so the service has done the work and only the caller does not know:
 *
 * - `lose-response`: forwards, reads the service's whole answer, then destroys the
 *   client's connection without a byte of it (the SDK sees ECONNRESET / socket hang up,
 *   a transient error its standard retry strategy retries);
 * - `stall`: forwards, then holds the answer until the client gives up and closes the
 *   connection (an abort signal, the SDK's request timeout), bounded by `maxStallMs`;
 * - `hook`: forwards, then calls `onCall` (e.g. SIGKILL the caller) and drops the answer;
 * - `rewrite`: forwards, and hands the caller the answer's body as `body` rewrites it, with
 *   `status` when given (text from AWS the action logs: names, error messages).
 *
 * Calls are matched by operation (the query `Action` of EC2's protocol, or the
 * `X-Amz-Target` of JSON protocols); each fault fires `times` times (default once), or, with
 * `forMs`, on every matching call for that long from the first (an outage of that length).
 * Test support only: never bundled.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Fault =
  | { kind: 'lose-response' }
  | { kind: 'stall'; maxStallMs?: number }
  | { kind: 'hook'; onCall: (operation: string) => void }
  | { kind: 'rewrite'; body: (text: string) => string; status?: number };

export interface FaultRule {
  operation: string;
  fault: Fault;
  /** How many matching calls get the fault (default 1); later ones pass through. */
  times?: number;
  /** Instead of `times`: every matching call within this many ms of the first one. */
  forMs?: number;
}

export interface ProxiedCall {
  at: number;
  operation: string;
  /** The fault applied, when one was. */
  fault?: Fault['kind'];
  /** The service's HTTP status (also for faulted calls: the service did answer). */
  status?: number;
  /**
   * The SDK call this request is an attempt of: `amz-sdk-invocation-id`, which the SDK's retry
   * middleware sets once per call, before its attempts (@smithy/core src/submodules/retry,
   * retryMiddleware), so all retries of one call share it.
   */
  invocation?: string;
  /** Which attempt of that call (`amz-sdk-request: attempt=N; max=M`). */
  attempt?: number;
}

export interface FaultProxy {
  url: string;
  calls: ProxiedCall[];
  /** Adds a rule; rules are tried in the order added. */
  inject(rule: FaultRule): void;
  /** Removes every rule not yet used up, and forgets the calls seen so far. */
  clear(): void;
  /** Resolves when a call to `operation` has been faulted (bounded by `timeoutMs`). */
  faulted(operation: string, timeoutMs?: number): Promise<ProxiedCall>;
  close(): Promise<void>;
}

function operationOf(body: string, target: string | undefined): string {
  if (target) return target.split('.').pop() ?? target;
  return new URLSearchParams(body).get('Action') ?? 'unknown';
}

const DEFAULT_MAX_STALL_MS = 60_000;

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const calls: ProxiedCall[] = [];
  const rules: Array<FaultRule & { left: number; since?: number }> = [];
  const sockets = new Set<Socket>();
  const target = new URL(upstream);

  const take = (operation: string): Fault | undefined => {
    const now = Date.now();
    const rule = rules.find(
      (r) =>
        r.operation === operation &&
        (r.forMs === undefined ? r.left > 0 : now - (r.since ?? now) < r.forMs),
    );
    if (!rule) return undefined;
    rule.left -= 1;
    rule.since ??= now;
    return rule.fault;
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const amzTarget = req.headers['x-amz-target'];
      const operation = operationOf(
        body.toString(),
        Array.isArray(amzTarget) ? amzTarget[0] : amzTarget,
      );
      const fault = take(operation);
      const invocation = req.headers['amz-sdk-invocation-id'];
      const attempt = /attempt=(\d+)/.exec(String(req.headers['amz-sdk-request'] ?? ''))?.[1];
      const call: ProxiedCall = {
        at: Date.now(),
        operation,
        ...(fault ? { fault: fault.kind } : {}),
        ...(typeof invocation === 'string' ? { invocation } : {}),
        ...(attempt ? { attempt: Number(attempt) } : {}),
      };
      calls.push(call);
      const forward = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: target.host },
        },
        (upstreamRes) => {
          if (upstreamRes.statusCode !== undefined) call.status = upstreamRes.statusCode;
          if (!fault) {
            res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
            upstreamRes.pipe(res);
            return;
          }
          if (fault.kind === 'rewrite') {
            const parts: Buffer[] = [];
            upstreamRes.on('data', (c: Buffer) => parts.push(c));
            upstreamRes.on('end', () => {
              const text = Buffer.from(fault.body(Buffer.concat(parts).toString('utf8')), 'utf8');
              const headers = { ...upstreamRes.headers, 'content-length': String(text.length) };
              delete headers['transfer-encoding'];
              res.writeHead(fault.status ?? upstreamRes.statusCode ?? 502, headers);
              res.end(text);
            });
            return;
          }
          // The service has answered in full: the work is done. Only the caller never hears.
          upstreamRes.resume();
          upstreamRes.on('end', () => {
            if (fault.kind === 'lose-response') {
              req.socket.destroy();
            } else if (fault.kind === 'hook') {
              fault.onCall(operation);
              req.socket.destroy();
            } else {
              const timer = setTimeout(
                () => req.socket.destroy(),
                fault.maxStallMs ?? DEFAULT_MAX_STALL_MS,
              );
              req.socket.once('close', () => clearTimeout(timer));
            }
          });
        },
      );
      forward.on('error', (e) => res.writeHead(502).end(String(e)));
      forward.end(body);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    inject: (rule) => rules.push({ ...rule, left: rule.times ?? 1 }),
    clear: () => {
      rules.length = 0;
      calls.length = 0;
    },
    faulted: async (operation, timeoutMs = 30_000) => {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const call = calls.find((c) => c.operation === operation && c.fault);
        if (call) return call;
        if (Date.now() > until)
          throw new Error(`no ${operation} call was faulted in ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
