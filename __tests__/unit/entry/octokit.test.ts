// src/entry/octokit.ts: the pull request's GitHub client retries server errors and rides out
// short rate limits, against a loopback server answering as GitHub does (status, retry-after,
// x-ratelimit-* headers), and fails at once on client errors and on long rate limits.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Reply = (res: ServerResponse) => void;
let server: Server;
let replies: Reply[] = [];
let requests = 0;
let createOctokit: (token: string) => {
  request: (route: string, params?: Record<string, unknown>) => Promise<{ status: number }>;
};

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Reply => {
  return (res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
};
const ok = json(200, { full_name: 'acme/platform' });

beforeAll(async () => {
  server = createServer((_req, res) => {
    requests++;
    (replies.shift() ?? ok)(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // @actions/github reads GITHUB_API_URL when it is loaded.
  process.env.GITHUB_API_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  ({ createOctokit } = (await import('../../../src/entry/octokit.js')) as unknown as {
    createOctokit: typeof createOctokit;
  });
});
afterAll(async () => {
  delete process.env.GITHUB_API_URL;
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  replies = [];
  requests = 0;
});

const get = () =>
  createOctokit('t0ken').request('GET /repos/{owner}/{repo}', {
    owner: 'acme',
    repo: 'platform',
  });

describe('the GitHub client', () => {
  it('retries a server error', async () => {
    replies = [json(502, { message: 'Bad gateway' })];
    await expect(get()).resolves.toMatchObject({ status: 200 });
    expect(requests).toBe(2);
  }, 20_000);

  it('does not retry a client error', async () => {
    replies = [json(422, { message: 'Validation Failed' })];
    await expect(get()).rejects.toMatchObject({ status: 422 });
    expect(requests).toBe(1);
  });

  it('waits out a short secondary rate limit (429 with retry-after), then succeeds', async () => {
    replies = [
      json(429, { message: 'You have exceeded a secondary rate limit' }, { 'retry-after': '1' }),
    ];
    await expect(get()).resolves.toMatchObject({ status: 200 });
    expect(requests).toBe(2);
  }, 20_000);

  it('fails a request whose rate limit resets too far ahead, without waiting', async () => {
    const reset = Math.floor(Date.now() / 1000) + 3600;
    replies = [
      json(
        403,
        { message: 'API rate limit exceeded' },
        { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) },
      ),
    ];
    const started = Date.now();
    await expect(get()).rejects.toMatchObject({ status: 403 });
    expect(requests).toBe(1);
    expect(Date.now() - started).toBeLessThan(5_000);
  }, 20_000);
});
