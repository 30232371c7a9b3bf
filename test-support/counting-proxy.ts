/**
 * A loopback HTTP proxy that forwards to an AWS endpoint (moto, the SSM
 * stand-in) and records each API call: time, service, region, operation and
 * parameters. The benchmarks count calls per phase with it; the emulator records
 * every call of the bundle tests with it, for the IAM evaluation
 * (./iam-authorization.ts).
 *
 * The service and region come from the SigV4 credential scope of the request
 * (`Credential=<key>/<date>/<region>/<service>/aws4_request`, AWS's Signature
 * Version 4 documentation); the parameters from the body in the protocol the
 * service speaks: EC2, STS and IAM use the query protocol (form-encoded,
 * `Action=...`), SSM and ECR the JSON protocol (`X-Amz-Target: AmazonSSM.SendCommand`).
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ApiCall {
  at: number;
  service: string;
  /** The region the request was signed for; '' when unsigned. */
  region: string;
  operation: string;
  /**
   * Query protocol: the form fields as sent (`TagSpecification.1.Tag.1.Key`, ...).
   * JSON protocol: the parsed body.
   */
  params: Record<string, unknown>;
  /** What `enrich` added before the call was forwarded (e.g. the resources' tags at that moment). */
  extra?: Record<string, unknown>;
}

export interface CountingProxy {
  url: string;
  calls: ApiCall[];
  close(): Promise<void>;
}

export interface CountingProxyOptions {
  /**
   * Runs before the call is forwarded, so it sees the state the call acts on
   * (tags of a snapshot about to be deleted); its result is stored as `extra`.
   */
  enrich?: (call: ApiCall) => Promise<Record<string, unknown> | undefined>;
  /** Where to record (shared by proxies that record one client's calls); a new list by default. */
  calls?: ApiCall[];
  /**
   * EC2 operations the upstream does not have (moto lacks fast snapshot restore and answers them
   * with an HTML 500, which the SDK retries as a server fault). They get what an EC2 endpoint
   * answers for an action it does not know: 400 InvalidAction (EC2 API Reference, "Error codes
   * for the Amazon EC2 API": InvalidAction, "The action or operation requested is not valid").
   */
  unsupported?: ReadonlySet<string>;
}

function invalidAction(res: import('node:http').ServerResponse, operation: string): void {
  res.writeHead(400, { 'Content-Type': 'text/xml;charset=UTF-8' });
  res.end(
    '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>InvalidAction</Code>' +
      `<Message>The action ${operation} is not valid for this web service.</Message></Error></Errors>` +
      '<RequestID>00000000-0000-0000-0000-000000000000</RequestID></Response>',
  );
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** region and service of the SigV4 credential scope, if the request is signed. */
function credentialScope(authorization: string | undefined): { region: string; service: string } {
  const scope = /Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(authorization ?? '');
  return { region: scope?.[1] ?? '', service: scope?.[2] ?? '' };
}

function json(body: string): Record<string, unknown> {
  try {
    return body ? (JSON.parse(body) as Record<string, unknown>) : {};
  } catch {
    return { unparsed: body };
  }
}

function parse(
  body: string,
  target: string | undefined,
): { operation: string; params: Record<string, unknown> } {
  if (target) return { operation: target.split('.').pop() ?? target, params: json(body) };
  const form = Object.fromEntries(new URLSearchParams(body));
  return { operation: form.Action ?? 'unknown', params: form };
}

/** The call an HTTP request to an AWS endpoint makes; `fallback` names the service of an unsigned one. */
export function recordedCall(
  headers: Record<string, string | string[] | undefined>,
  body: string,
  fallback: string,
): ApiCall {
  const scope = credentialScope(header(headers.authorization));
  const { operation, params } = parse(body, header(headers['x-amz-target']));
  return {
    at: Date.now(),
    // AssumeRoleWithWebIdentity is the one call the action sends unsigned (the token is the credential).
    service: scope.service || (operation === 'AssumeRoleWithWebIdentity' ? 'sts' : fallback),
    region: scope.region,
    operation,
    params,
  };
}

export async function startCountingProxy(
  upstream: string,
  service: string,
  options: CountingProxyOptions = {},
): Promise<CountingProxy> {
  const calls = options.calls ?? [];
  const target = new URL(upstream);
  const forward = (
    req: import('node:http').IncomingMessage,
    res: import('node:http').ServerResponse,
    body: Buffer,
  ) => {
    const upstreamReq = httpRequest(
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
    upstreamReq.on('error', (e) => res.writeHead(502).end(String(e)));
    upstreamReq.end(body);
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const call = recordedCall(req.headers, body.toString(), service);
      calls.push(call);
      const enriched = options.enrich ? options.enrich(call) : Promise.resolve(undefined);
      enriched
        .then((extra) => {
          if (extra) call.extra = extra;
        })
        .catch((e: unknown) => {
          call.extra = { enrichError: String(e) };
        })
        .finally(() =>
          options.unsupported?.has(call.operation)
            ? invalidAction(res, call.operation)
            : forward(req, res, body),
        );
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
