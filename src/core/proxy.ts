/**
 * HTTP(S) proxies from the environment, for self-hosted runners behind one: `HTTPS_PROXY`,
 * `HTTP_PROXY` and `NO_PROXY` (either case), decided per request, as curl reads them. The
 * variables are read by libraries, not here:
 *
 * - AWS SDK clients get an agent that asks proxy-from-env for each request's proxy and hands
 *   the request to https-proxy-agent (a CONNECT tunnel, for https:// endpoints) or
 *   http-proxy-agent (absolute-form requests, for http:// endpoints), or to a plain agent when
 *   there is none: what proxy-agent's `ProxyAgent` does (aws-actions/configure-aws-credentials
 *   uses that), without its PAC and SOCKS support, which ncc would split into chunks whose
 *   licences its `--license` output then leaves out.
 * - The registry client (digest lookups from the runner) gets undici's `fetch` with its
 *   `EnvHttpProxyAgent`, which tunnels with CONNECT and honours `NO_PROXY` the same way.
 * - Octokit needs nothing here: @actions/github's `getOctokit` already routes through the
 *   proxy the environment names.
 *
 * Without a proxy variable nothing changes: the SDK's default handler and the global fetch.
 */
import { Agent, type AgentConnectOpts } from 'agent-base';
import * as http from 'node:http';
import * as https from 'node:https';
import { HttpProxyAgent } from 'http-proxy-agent';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { getProxyForUrl } from 'proxy-from-env';
import { EnvHttpProxyAgent, fetch as undiciFetch } from 'undici';

type Env = Record<string, string | undefined>;

const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'];

/** Whether the environment names a proxy for HTTP or HTTPS. */
export function proxyConfigured(env: Env = process.env): boolean {
  return PROXY_VARIABLES.some((name) => (env[name] ?? '').trim() !== '');
}

/** Routes each request to the proxy proxy-from-env names for its URL, or to no proxy. */
export class EnvProxyAgent extends Agent {
  // No keep-alive: a socket freed by a request belongs to this agent's pool, and reusing it
  // would skip connect() (and so the proxy's absolute-form request line or tunnel).
  private readonly direct = { http: new http.Agent(), https: new https.Agent() };
  private readonly viaProxy = new Map<string, http.Agent>();

  connect(req: http.ClientRequest, opts: AgentConnectOpts): http.Agent {
    const secure = opts.secureEndpoint;
    const url = new URL(
      req.path,
      `${secure ? 'https' : 'http'}://${String(req.getHeader('host') ?? req.host)}`,
    ).href;
    const proxy = getProxyForUrl(url);
    if (!proxy) return secure ? this.direct.https : this.direct.http;
    const key = `${secure ? 'https' : 'http'} ${proxy}`;
    let agent = this.viaProxy.get(key);
    if (!agent) {
      agent = secure ? new HttpsProxyAgent(proxy) : new HttpProxyAgent(proxy);
      this.viaProxy.set(key, agent);
    }
    return agent;
  }

  override destroy(): void {
    this.direct.http.destroy();
    this.direct.https.destroy();
    for (const agent of this.viaProxy.values()) agent.destroy();
    super.destroy();
  }
}

/** The `requestHandler` option for SDK clients: proxy-aware agents, or undefined without a proxy. */
export function proxyRequestHandler(
  env: Env = process.env,
): { httpAgent: EnvProxyAgent; httpsAgent: EnvProxyAgent } | undefined {
  if (!proxyConfigured(env)) return undefined;
  const agent = new EnvProxyAgent();
  return { httpAgent: agent, httpsAgent: agent };
}
/** fetch for the registries: through the proxy the environment names, or the global fetch. */
export function proxyFetch(env: Env = process.env): typeof fetch {
  if (!proxyConfigured(env)) return (input, init) => globalThis.fetch(input, init);
  const dispatcher = new EnvHttpProxyAgent();
  // undici's own fetch with its own dispatcher (the global fetch may be another undici).
  const viaProxy = undiciFetch as unknown as (
    input: Parameters<typeof fetch>[0],
    init: Omit<RequestInit, 'dispatcher'> & { dispatcher: EnvHttpProxyAgent },
  ) => Promise<Response>;
  return (input, init) => viaProxy(input, { ...init, dispatcher });
}
