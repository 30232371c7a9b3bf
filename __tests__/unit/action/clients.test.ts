// src/action/clients.ts: the step's AWS clients, built by the runtime: with the runner's own
// credentials when no role is to be assumed, else with credentials from the job's OIDC token
// (AssumeRoleWithWebIdentity, unsigned, in the step's region), every secret masked.
import { afterEach, describe, expect, it } from '@jest/globals';
import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { mockClient } from 'aws-sdk-client-mock';
import { clientsFor } from '../../../src/action/clients.js';
import type { AwsClients } from '../../../src/aws/clients.js';
import type { CredentialsConfig } from '../../../src/config/types.js';
import {
  MemoryRuntime,
  RUN_ENV,
  type MemoryRuntimeOptions,
} from '../../../test-support/action-runtime.js';
import { sdkClients } from '../../../test-support/aws-mocks.js';
import { rejectionOf } from '../../../test-support/rejection.js';
import { VirtualClock } from '../../../test-support/virtual-clock.js';

const sts = mockClient(STSClient);
afterEach(() => {
  sts.reset();
});

const ROLE = 'arn:aws:iam::123456789012:role/snapshot-builder';
const AMBIENT: CredentialsConfig = {
  roleSessionName: 'bottlerocket-ebs-snapshot',
  roleDurationSeconds: 3600,
  audience: 'sts.amazonaws.com',
};
const ASSUMED: CredentialsConfig = { ...AMBIENT, roleToAssume: ROLE, audience: 'sigstore' };
/** A job with `permissions: id-token: write`. */
const OIDC_ENV = {
  ...RUN_ENV,
  ACTIONS_ID_TOKEN_REQUEST_URL: 'http://127.0.0.1:9/token',
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'request-token',
};

/** The in-memory runtime, keeping the credentials each createClients call was given. */
class Runtime extends MemoryRuntime {
  readonly providers: Array<AwsCredentialIdentityProvider | undefined> = [];
  readonly audiences: string[] = [];
  constructor(options: MemoryRuntimeOptions = {}) {
    super({ clients: sdkClients(), ...options });
  }
  override createClients(region: string, credentials?: AwsCredentialIdentityProvider): AwsClients {
    this.providers.push(credentials);
    return super.createClients(region, credentials);
  }
  override getIdToken(audience?: string): Promise<string> {
    this.audiences.push(audience ?? '');
    return Promise.resolve('eyJ.oidc-token.sig');
  }
}

function assumes() {
  sts.on(AssumeRoleWithWebIdentityCommand).resolves({
    Credentials: {
      AccessKeyId: 'ASIAEXAMPLE',
      SecretAccessKey: 'secret-access-key',
      SessionToken: 'session-token',
      Expiration: new Date(Date.UTC(2026, 0, 1, 1)),
    },
    AssumedRoleUser: { Arn: `${ROLE}/gha`, AssumedRoleId: 'AROA:gha' },
  });
}

describe('clientsFor', () => {
  it('without role-to-assume, builds the clients with the runner’s own credentials', () => {
    const rt = new Runtime({ env: OIDC_ENV });
    const clients = clientsFor(rt, 'eu-west-1', AMBIENT);

    expect(clients.ec2).toBeDefined();
    expect(rt.clientRequests).toEqual([{ region: 'eu-west-1', credentials: false }]);
    expect(rt.providers).toEqual([undefined]);
    expect(rt.audiences).toEqual([]);
    expect(sts.calls()).toHaveLength(0);
  });

  it('with role-to-assume, assumes it with the job’s OIDC token, masking every secret', async () => {
    assumes();
    const handedIn = sdkClients();
    const rt = new Runtime({ env: OIDC_ENV, clients: handedIn });
    clientsFor(rt, 'eu-west-1', ASSUMED);
    expect(rt.clientRequests).toEqual([{ region: 'eu-west-1', credentials: true }]);
    // Nothing is asked for until a client needs credentials.
    expect(rt.audiences).toEqual([]);
    expect(sts.calls()).toHaveLength(0);

    const identity = await rt.providers[0]?.();
    expect(identity).toMatchObject({
      accessKeyId: 'ASIAEXAMPLE',
      secretAccessKey: 'secret-access-key',
      sessionToken: 'session-token',
    });
    expect(rt.audiences).toEqual(['sigstore']);
    const calls = sts.commandCalls(AssumeRoleWithWebIdentityCommand);
    expect(calls.map((c) => c.args[0].input)).toEqual([
      {
        RoleArn: ROLE,
        RoleSessionName: 'bottlerocket-ebs-snapshot',
        DurationSeconds: 3600,
        WebIdentityToken: 'eyJ.oidc-token.sig',
      },
    ]);
    // The federation call goes to STS in the step's region, from a client of its own.
    const client = calls[0]?.thisValue as STSClient;
    expect(client).not.toBe(handedIn.sts);
    expect(await client.config.region()).toBe('eu-west-1');
    expect(rt.masked).toEqual(['eyJ.oidc-token.sig', 'secret-access-key', 'session-token']);
  });

  it('asks once while the credentials last on the step’s clock, and again near their end', async () => {
    assumes();
    const clock = new VirtualClock(Date.UTC(2026, 0, 1));
    const rt = new Runtime({ env: OIDC_ENV, clock });
    clientsFor(rt, 'us-west-2', ASSUMED);
    await rt.providers[0]?.();
    clock.advance(50 * 60_000);
    await rt.providers[0]?.();
    expect(sts.commandCalls(AssumeRoleWithWebIdentityCommand)).toHaveLength(1);
    // Within five minutes of the expiry (01:00), a fresh token and session.
    clock.advance(6 * 60_000);
    await rt.providers[0]?.();
    expect(sts.commandCalls(AssumeRoleWithWebIdentityCommand)).toHaveLength(2);
    expect(rt.audiences).toEqual(['sigstore', 'sigstore']);
  });

  it('with role-to-assume in a job that cannot get an OIDC token, says how to fix it', async () => {
    assumes();
    const rt = new Runtime();
    clientsFor(rt, 'us-west-2', ASSUMED);
    const provider = rt.providers[0];
    expect(provider).toBeDefined();

    const error = await rejectionOf(provider?.() ?? Promise.resolve());
    expect(error.message).toBe(
      "Input 'role-to-assume' is set, but this job cannot request a GitHub OIDC token. " +
        'Add `permissions: { id-token: write, contents: read }` to the job (or workflow), ' +
        'or remove role-to-assume to use the credentials already configured on the runner.',
    );
    expect(rt.audiences).toEqual([]);
    expect(sts.calls()).toHaveLength(0);
    expect(rt.masked).toEqual([]);
  });

  it('takes an empty role-to-assume as none', () => {
    const rt = new Runtime({ env: OIDC_ENV });
    clientsFor(rt, 'us-west-2', { ...AMBIENT, roleToAssume: '' });
    expect(rt.clientRequests).toEqual([{ region: 'us-west-2', credentials: false }]);
  });
});
