/**
 * A local AWS for the bundled action: moto_server for EC2, STS and IAM, the
 * SSM stand-in that runs the instance script here with the instance stand-ins,
 * and the runner's OIDC token endpoint. Used by the integration tests and by
 * `npm run demo`. The action is pointed at it only through the SDK's standard
 * AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_SSM variables, which lead through recording
 * proxies: `calls` holds every AWS call the action made, with the tags of the resources
 * it names as they were at that moment, for the IAM evaluation (./iam-evaluate.ts).
 */
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeTagsCommand,
  EC2Client,
  type Instance,
} from '@aws-sdk/client-ec2';
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  GetInstanceProfileCommand,
  IAMClient,
} from '@aws-sdk/client-iam';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bottlerocketAmiParameter } from '../src/build/ami.js';
import { startCountingProxy, type ApiCall, type CountingProxy } from './counting-proxy.js';
import type { CallFacts } from './iam-authorization.js';
import { registryFixture, STUB_DIR, type StubImage } from './instance-sim.js';
import { startMoto, type Moto } from './moto.js';
import { startOidcServer, type OidcServer } from './oidc-server.js';
import { startSsmStandIn, type SsmStandIn, type SsmStandInOptions } from './ssm-standin.js';

/** EC2 operations moto 5 does not implement (fast snapshot restore). */
const MOTO_LACKS: ReadonlySet<string> = new Set([
  'DescribeFastSnapshotRestores',
  'EnableFastSnapshotRestores',
  'DisableFastSnapshotRestores',
]);

export const REGION = 'us-west-2';
export const INSTANCE_PROFILE = 'snapshot-builder-instance';
export const ROLE_ARN = 'arn:aws:iam::123456789012:role/snapshot-builder';
export const VARIANT = 'aws-k8s-1.34';

const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

/** The inputs every build in the bundle tests needs, as a workflow would write them. */
export const BUILD_INPUTS: Readonly<Record<string, string>> = {
  'aws-region': REGION,
  'role-to-assume': ROLE_ARN,
  'instance-profile': INSTANCE_PROFILE,
};

/** The run tag the action puts on what a run of the harness makes (acme/platform, attempt 1). */
export function runTagFilter(runId: string): Array<{ Name: string; Values: string[] }> {
  return [{ Name: 'tag:bottlerocket-ebs-snapshot:run', Values: [`acme/platform/${runId}/1`] }];
}

/** The instances a run of the harness launched, in any state. */
export async function instancesOfRun(ec2: EC2Client, runId: string): Promise<Instance[]> {
  const out = await ec2.send(new DescribeInstancesCommand({ Filters: runTagFilter(runId) }));
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
}

export interface Emulator {
  moto: Moto;
  ssm: SsmStandIn;
  oidc: OidcServer;
  ec2: EC2Client;
  amiId: string;
  stateRoot: string;
  /** Every AWS API call the action made (through the endpoints in `env`), in order. */
  calls: ApiCall[];
  /** Environment for the action: endpoints, OIDC, no real credentials. */
  env: Record<string, string>;
  /** Replaces the images the "registries" serve. */
  setRegistry(images: StubImage[]): void;
  close(): Promise<void>;
}

export async function startEmulator(
  registry: StubImage[],
  ssmOptions: Partial<SsmStandInOptions> = {},
): Promise<Emulator> {
  const dir = mkdtempSync(join(tmpdir(), 'bes-emulator-'));
  const stateRoot = join(dir, 'instances');
  const registryFile = join(dir, 'registry.tsv');
  const setRegistry = (images: StubImage[]) => writeFileSync(registryFile, registryFixture(images));
  setRegistry(registry);

  const moto = await startMoto();
  const ec2 = new EC2Client({ region: REGION, endpoint: moto.url, credentials });
  const iam = new IAMClient({ region: REGION, endpoint: moto.url, credentials });
  try {
    await iam.send(
      new CreateRoleCommand({
        RoleName: 'snapshot-builder-instance',
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'ec2.amazonaws.com' },
              Action: 'sts:AssumeRole',
            },
          ],
        }),
      }),
    );
    await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: INSTANCE_PROFILE }));
    await iam.send(
      new AddRoleToInstanceProfileCommand({
        InstanceProfileName: INSTANCE_PROFILE,
        RoleName: 'snapshot-builder-instance',
      }),
    );
    // Any Linux image moto knows stands in for the Bottlerocket AMI the public parameter names.
    const images = (await ec2.send(new DescribeImagesCommand({}))).Images ?? [];
    const linux = (arch: string) =>
      images.find((i) => i.Architecture === arch && i.Platform !== 'Windows')?.ImageId;
    const amiId = linux('x86_64');
    if (!amiId) throw new Error('moto offers no x86_64 Linux image');
    const armAmi = linux('arm64') ?? amiId;

    const ssm = await startSsmStandIn({
      ec2Endpoint: moto.url,
      region: REGION,
      parameters: {
        [bottlerocketAmiParameter(VARIANT, 'x86_64')]: amiId,
        [bottlerocketAmiParameter(VARIANT, 'arm64')]: armAmi,
      },
      pathPrepend: [STUB_DIR],
      env: { STUB_REGISTRY_FILE: registryFile },
      stateRoot,
      ...ssmOptions,
    });
    const oidc = await startOidcServer();
    const recorder = await startRecorder(moto.url, ssm.url, iam);
    const env = {
      AWS_ENDPOINT_URL: recorder.moto.url,
      AWS_ENDPOINT_URL_SSM: recorder.ssm.url,
      AWS_REGION: REGION,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ACTIONS_ID_TOKEN_REQUEST_URL: oidc.url,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: oidc.requestToken,
    };
    return {
      moto,
      ssm,
      oidc,
      ec2,
      amiId,
      stateRoot,
      calls: recorder.calls,
      env,
      setRegistry,
      close: async () => {
        await recorder.close();
        await ssm.close();
        await oidc.close();
        ec2.destroy();
        iam.destroy();
        await moto.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    iam.destroy();
    ec2.destroy();
    await moto.stop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** IDs of EC2 resources whose tags or owner an authorization may depend on. */
const RESOURCE_ID = /^(i|vol|snap|ami)-[0-9a-f]+$/;

function idsIn(value: unknown): string[] {
  if (typeof value === 'string') return RESOURCE_ID.test(value) ? [value] : [];
  if (Array.isArray(value)) return value.flatMap(idsIn);
  if (value && typeof value === 'object') return Object.values(value).flatMap(idsIn);
  return [];
}

/**
 * Two recording proxies (moto, the SSM stand-in) sharing one list of calls. Before a call
 * goes out, the tags of the resources it names are read from moto (the state the call
 * acts on: a snapshot about to be deleted still has its tags), with the owner of each
 * image and the role of each instance profile.
 */
async function startRecorder(
  motoUrl: string,
  ssmUrl: string,
  iam: IAMClient,
): Promise<{ moto: CountingProxy; ssm: CountingProxy; calls: ApiCall[]; close(): Promise<void> }> {
  const clients = new Map<string, EC2Client>();
  const ec2In = (region: string) => {
    let client = clients.get(region);
    if (!client) {
      client = new EC2Client({ region, endpoint: motoUrl, credentials, maxAttempts: 1 });
      clients.set(region, client);
    }
    return client;
  };
  const enrich = async (call: ApiCall): Promise<Record<string, unknown> | undefined> => {
    if (!['ec2', 'ssm'].includes(call.service) || !call.region) return undefined;
    const facts: CallFacts = { tags: {}, imageOwners: {}, profileRoles: {} };
    const sourceRegion =
      typeof call.params.SourceRegion === 'string' ? call.params.SourceRegion : '';
    for (const id of new Set(idsIn(call.params))) {
      const region =
        id === call.params.SourceSnapshotId && sourceRegion ? sourceRegion : call.region;
      const out = await ec2In(region).send(
        new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [id] }] }),
      );
      facts.tags![id] = Object.fromEntries(
        (out.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']),
      );
      if (id.startsWith('ami-')) {
        const image = (await ec2In(region).send(new DescribeImagesCommand({ ImageIds: [id] })))
          .Images?.[0];
        facts.imageOwners![id] = image?.ImageOwnerAlias ?? image?.OwnerId ?? '';
      }
    }
    const profile = call.params['IamInstanceProfile.Name'];
    if (typeof profile === 'string') {
      const out = await iam.send(new GetInstanceProfileCommand({ InstanceProfileName: profile }));
      facts.profileRoles![profile] = out.InstanceProfile?.Roles?.[0]?.Arn ?? '';
    }
    return facts as Record<string, unknown>;
  };
  const calls: ApiCall[] = [];
  const moto = await startCountingProxy(motoUrl, 'moto', {
    enrich,
    calls,
    unsupported: MOTO_LACKS,
  });
  const ssm = await startCountingProxy(ssmUrl, 'ssm', { enrich, calls });
  return {
    moto,
    ssm,
    calls,
    close: async () => {
      await moto.close();
      await ssm.close();
      for (const client of clients.values()) client.destroy();
    },
  };
}
