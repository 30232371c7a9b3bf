/**
 * The action's SDK clients record which call an error came from, so the failure a user reads
 * names the operation and the resource. Against a loopback server answering as EC2 does.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DescribeSnapshotsCommand } from '@aws-sdk/client-ec2';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAwsClients, resourceOf, retryDelayMs } from '../../../src/aws/clients.js';
import { awsCallOf, describeFailure } from '../../../src/aws/errors.js';
import { rejectionOf } from '../../../test-support/rejection.js';

let server: Server;
let url: string;
beforeAll(async () => {
  // An EC2 Query API error answer (400, not retried by the SDK).
  server = createServer((req, res) => {
    req.resume();
    res.writeHead(400, { 'Content-Type': 'text/xml' });
    res.end(
      '<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>InvalidSnapshot.NotFound</Code>' +
        "<Message>The snapshot 'snap-0abc' does not exist.</Message></Error></Errors><RequestID>r-1</RequestID></Response>",
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('the clients name the call an error came from', () => {
  it('records the operation and the resource on an EC2 error', async () => {
    process.env.AWS_ENDPOINT_URL_EC2 = url;
    const clients = createAwsClients('us-west-2', async () => ({
      accessKeyId: 'testing',
      secretAccessKey: 'testing',
    }));
    try {
      const error = await rejectionOf(
        clients.ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: ['snap-0abc'] })),
        Error,
      );
      expect(error.name).toBe('InvalidSnapshot.NotFound');
      expect(awsCallOf(error)).toEqual({ operation: 'DescribeSnapshots', resource: 'snap-0abc' });
      // The message a user reads already names the snapshot, not the call: the call goes first.
      expect(describeFailure(error)).toBe(
        "DescribeSnapshots of snap-0abc failed: InvalidSnapshot.NotFound: The snapshot 'snap-0abc' does not exist.",
      );
    } finally {
      delete process.env.AWS_ENDPOINT_URL_EC2;
      clients.destroy();
    }
  });
});

describe('resourceOf', () => {
  it('finds the resource a request is about', () => {
    expect(resourceOf({ InstanceIds: ['i-0abc'], DryRun: false })).toBe('i-0abc');
    expect(resourceOf({ VolumeId: 'vol-1', Description: 'x' })).toBe('vol-1');
    expect(resourceOf({ Name: '/eks/node-cache/snapshot-id' })).toBe('/eks/node-cache/snapshot-id');
    expect(resourceOf({ MaxResults: 5 })).toBeUndefined();
  });
});

describe('retryDelayMs', () => {
  it('backs off from half a second to 20 s, with jitter, about 50 s over the 7 retries', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7].map((attempt) => retryDelayMs(attempt));
    const full = [500, 1000, 2000, 4000, 8000, 16_000, 20_000];
    delays.forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual(0.75 * (full[i] ?? 0));
      expect(d).toBeLessThanOrEqual(full[i] ?? 0);
    });
    const total = delays.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(35_000);
    expect(total).toBeLessThanOrEqual(51_500);
  });
});
