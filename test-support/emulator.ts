/**
 * A local AWS for the bundled action: moto_server for EC2, STS and IAM, the
 * SSM stand-in that runs the instance script here with the instance stand-ins,
 * and the runner's OIDC token endpoint. Used by the integration tests and by
 * `npm run demo`. The action is pointed at it only through the SDK's standard
 * AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_SSM variables.
 */
import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  IAMClient,
} from '@aws-sdk/client-iam';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bottlerocketAmiParameter } from '../src/ami.js';
import { registryFixture, STUB_DIR, type StubImage } from './instance-sim.js';
import { startMoto, type Moto } from './moto.js';
import { startOidcServer, type OidcServer } from './oidc-server.js';
import { startSsmStandIn, type SsmStandIn, type SsmStandInOptions } from './ssm-standin.js';

export const REGION = 'us-west-2';
export const INSTANCE_PROFILE = 'snapshot-builder-instance';
export const ROLE_ARN = 'arn:aws:iam::123456789012:role/snapshot-builder';
export const VARIANT = 'aws-k8s-1.34';

const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

export interface Emulator {
  moto: Moto;
  ssm: SsmStandIn;
  oidc: OidcServer;
  ec2: EC2Client;
  amiId: string;
  stateRoot: string;
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
    const env = {
      AWS_ENDPOINT_URL: moto.url,
      AWS_ENDPOINT_URL_SSM: ssm.url,
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
      env,
      setRegistry,
      close: async () => {
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
