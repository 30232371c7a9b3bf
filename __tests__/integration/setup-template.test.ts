/**
 * examples/setup/bottlerocket-ebs-snapshot.yaml: lints clean with cfn-lint (AWS's
 * CloudFormation linter, which checks every resource against the CloudFormation resource
 * schemas); with the example's parameters its policies are the examples' (so the IAM
 * evaluation of the examples holds for the stack); its trust and KMS statements evaluate as
 * intended; and it deploys to moto's CloudFormation, whose role and instance profile the
 * bundled action then builds with.
 *
 * What moto 5.2.1 does with the template (moto/iam/models.py, cloudformation_type()):
 * it creates AWS::IAM::Role, AWS::IAM::InstanceProfile (and Policy/ManagedPolicy), but has
 * no AWS::IAM::OIDCProvider or AWS::IAM::RolePolicy: the stack is deployed with
 * CreateOidcProvider=false (the provider is made beforehand, as in an account that has
 * one) and without a KMS key; those two resources are covered by cfn-lint and the
 * evaluation of their resolved policies. moto ignores a role's ManagedPolicyArns and
 * returns inline role policies as Python reprs, so the managed policies and permissions
 * checked are the template's, resolved (test-support/cfn-template.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStacksCommand,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import {
  CreateOpenIDConnectProviderCommand,
  GetInstanceProfileCommand,
  GetRoleCommand,
  IAMClient,
} from '@aws-sdk/client-iam';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTemplate, resolve, TEMPLATE, type Context } from '../../test-support/cfn-template.js';
import { REGION, startEmulator, type Emulator } from '../../test-support/emulator.js';
import { ACCOUNT, OIDC_PROVIDER } from '../../test-support/iam-authorization.js';
import {
  describeDenials,
  evaluate,
  evaluateCalls,
  examplePolicies,
  saveEvaluation,
  type Policies,
} from '../../test-support/iam-evaluate.js';
import { runMainAndPost } from '../../test-support/runner.js';

const template = readTemplate();
/**
 * The default key policy: the account's IAM policies decide (KMS Developer Guide,
 * "Default key policy"), without which no IAM policy can grant use of a key.
 */
const DEFAULT_KEY_POLICY = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'Enable IAM User Permissions',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::123456789012:root' },
      Action: 'kms:*',
      Resource: '*',
    },
  ],
};
const EXAMPLE_BUILDER_ROLE = `arn:aws:iam::${ACCOUNT}:role/snapshot-builder-instance`;

interface RoleProperties {
  AssumeRolePolicyDocument: unknown;
  Policies: Array<{ PolicyDocument: unknown }>;
}

function stackPolicies(parameters: Record<string, string>, builderRoleArn: string): Policies {
  const context: Context = {
    parameters,
    accountId: ACCOUNT,
    resources: { 'BuilderRole.Arn': builderRoleArn, GitHubOidcProvider: OIDC_PROVIDER },
  };
  const role = resolve(
    template,
    template.Resources.WorkflowRole?.Properties,
    context,
  ) as RoleProperties;
  return { permissions: role.Policies[0]?.PolicyDocument, trust: role.AssumeRolePolicyDocument };
}

const assume = (trust: unknown, sub: string) =>
  evaluate(
    {
      kind: 'trust',
      call: 'sts:AssumeRoleWithWebIdentity',
      principal: OIDC_PROVIDER,
      action: 'sts:AssumeRoleWithWebIdentity',
      resource: `arn:aws:iam::${ACCOUNT}:role/anything`,
      context: {
        'token.actions.githubusercontent.com:sub': sub,
        'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
      },
    },
    { permissions: {}, trust },
  ).then((d) => d.result);

describe('cfn-lint', () => {
  const available = spawnSync('cfn-lint', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!available && process.env.CI) throw new Error('cfn-lint is missing: pip install cfn-lint');
  const maybe = available ? it : it.skip;
  const lint = (file: string) =>
    spawnSync('cfn-lint', [file], { encoding: 'utf8', timeout: 60_000 });

  maybe(
    'reports nothing on the template',
    () => {
      const result = lint(TEMPLATE);
      expect(result.stdout + result.stderr).toBe('');
      expect(result.status).toBe(0);
    },
    60_000,
  );

  maybe(
    'reports a property the resource schema does not have (the linter is really checking)',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'bes-cfn-'));
      try {
        const broken = join(dir, 'broken.yaml');
        writeFileSync(
          broken,
          readFileSync(TEMPLATE, 'utf8').replace(
            'MaxSessionDuration: 3600',
            'MaxSessionLength: 3600',
          ),
        );
        const result = lint(broken);
        expect(result.status).not.toBe(0);
        expect(result.stdout).toContain('MaxSessionLength');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    60_000,
  );
});

describe('the template, resolved', () => {
  it("with the example's parameters, has exactly the example permissions and trust policies", () => {
    const policies = stackPolicies({ Repository: 'acme/platform' }, EXAMPLE_BUILDER_ROLE);
    expect(policies).toEqual(examplePolicies());
  });

  it('with exact IDs and an environment, trusts only that repository in that environment', async () => {
    const { trust } = stackPolicies(
      {
        Repository: 'acme/platform',
        Subject: 'environment:production',
        GitHubOwnerId: '1234',
        GitHubRepositoryId: '5678',
      },
      EXAMPLE_BUILDER_ROLE,
    );
    expect(await assume(trust, 'repo:acme@1234/platform@5678:environment:production')).toBe(
      'Allowed',
    );
    expect(await assume(trust, 'repo:acme/platform:environment:production')).toBe('Allowed');
    expect(await assume(trust, 'repo:acme@9999/platform@5678:environment:production')).toBe(
      'ImplicitlyDenied',
    );
    expect(await assume(trust, 'repo:acme@1234/platform@5678:ref:refs/heads/main')).toBe(
      'ImplicitlyDenied',
    );
  });

  it('with another repository, keys every tag condition on it: our builders are out of its reach', async () => {
    const theirs = stackPolicies({ Repository: 'acme/other' }, EXAMPLE_BUILDER_ROLE);
    const ours = JSON.stringify(examplePolicies().permissions);
    const text = JSON.stringify(theirs.permissions);
    expect(text).not.toContain('acme/platform');
    expect(text.split('acme/other').length).toBe(ours.split('acme/platform').length);
    expect(await assume(theirs.trust, 'repo:acme/platform:ref:refs/heads/main')).toBe(
      'ImplicitlyDenied',
    );
  });

  it('with a KMS key, lets the role use that key through EC2 only', async () => {
    const key = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    const context: Context = {
      parameters: { Repository: 'acme/platform', KmsKeyArn: key },
      accountId: ACCOUNT,
      resources: { WorkflowRole: 'wf' },
    };
    expect(resolve(template, template.Conditions.HasKmsKey, context)).toBe(true);
    const policy = resolve(
      template,
      template.Resources.KmsKeyUse?.Properties.PolicyDocument,
      context,
    );
    const grant = (resource: string, via?: string) =>
      evaluate(
        {
          kind: 'identity',
          call: 'kms:CreateGrant (by EC2)',
          action: 'kms:CreateGrant',
          resource,
          context: via ? { 'kms:ViaService': via } : {},
          resourcePolicy: DEFAULT_KEY_POLICY,
        },
        { permissions: policy, trust: {} },
      ).then((d) => d.result);
    expect(await grant(key, `ec2.${REGION}.amazonaws.com`)).toBe('Allowed');
    expect(await grant(key)).toBe('ImplicitlyDenied');
    expect(await grant(key.replace('1234abcd', 'ffffffff'), `ec2.${REGION}.amazonaws.com`)).toBe(
      'ImplicitlyDenied',
    );
    expect(
      resolve(template, template.Conditions.HasKmsKey, {
        ...context,
        parameters: { Repository: 'acme/platform' },
      }),
    ).toBe(false);
  });
});

describe("the stack in moto's CloudFormation", () => {
  let emu: Emulator;
  let cfn: CloudFormationClient;
  let iam: IAMClient;
  const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

  beforeAll(async () => {
    emu = await startEmulator([
      { ref: 'public.ecr.aws/eks-distro/kubernetes/pause:3.2', platforms: ['linux/amd64'] },
    ]);
    cfn = new CloudFormationClient({ region: REGION, endpoint: emu.moto.url, credentials });
    iam = new IAMClient({ region: REGION, endpoint: emu.moto.url, credentials });
  }, 60_000);
  afterAll(async () => {
    cfn?.destroy();
    iam?.destroy();
    await emu?.close();
  }, 30_000);

  async function deploy(name: string, parameters: Record<string, string>): Promise<Stack> {
    await cfn.send(
      new CreateStackCommand({
        StackName: name,
        TemplateBody: readFileSync(TEMPLATE, 'utf8'),
        Capabilities: ['CAPABILITY_IAM'],
        Parameters: Object.entries(parameters).map(([ParameterKey, ParameterValue]) => ({
          ParameterKey,
          ParameterValue,
        })),
      }),
    );
    for (let attempt = 0; attempt < 40; attempt++) {
      const stack = (await cfn.send(new DescribeStacksCommand({ StackName: name }))).Stacks?.[0];
      if (stack && !stack.StackStatus?.endsWith('_IN_PROGRESS')) return stack;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`stack ${name} did not finish within 10 s`);
  }

  it('deploys; the bundle builds with the role and instance profile it created, every call allowed by the stack', async () => {
    await iam.send(
      new CreateOpenIDConnectProviderCommand({
        Url: 'https://token.actions.githubusercontent.com',
        ClientIDList: ['sts.amazonaws.com'],
      }),
    );
    const stack = await deploy('bottlerocket-ebs-snapshot', {
      Repository: 'acme/platform',
      CreateOidcProvider: 'false',
    });
    expect(stack.StackStatus).toBe('CREATE_COMPLETE');
    const output = (key: string) =>
      stack.Outputs?.find((o) => o.OutputKey === key)?.OutputValue ?? '';
    const roleToAssume = output('RoleToAssume');
    const instanceProfile = output('InstanceProfile');
    expect(roleToAssume).toMatch(/^arn:aws:iam::123456789012:role\/bottlerocket-ebs-snapshot-/);
    expect(instanceProfile).toMatch(/^bottlerocket-ebs-snapshot-/);

    // The instance profile holds the builder role, with SSM and ECR read access.
    const profile = await iam.send(
      new GetInstanceProfileCommand({ InstanceProfileName: instanceProfile }),
    );
    const builderRole = profile.InstanceProfile?.Roles?.[0];
    expect(builderRole?.RoleName).toMatch(/^bottlerocket-ebs-snapshot-BuilderRole-/);
    // moto ignores a role's ManagedPolicyArns in CloudFormation: the template states them.
    expect(
      resolve(template, template.Resources.BuilderRole?.Properties.ManagedPolicyArns, {
        parameters: { Repository: 'acme/platform' },
        accountId: ACCOUNT,
        resources: {},
      }),
    ).toEqual([
      'arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore',
      'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly',
    ]);

    // moto resolved the trust policy as the template says, against the existing provider.
    const policies = stackPolicies(
      { Repository: 'acme/platform', CreateOidcProvider: 'false' },
      builderRole?.Arn ?? '',
    );
    const role = await iam.send(new GetRoleCommand({ RoleName: roleToAssume.split('/').pop() }));
    expect(JSON.parse(decodeURIComponent(role.Role?.AssumeRolePolicyDocument ?? '{}'))).toEqual(
      policies.trust,
    );

    const { main, post } = await runMainAndPost({
      inputs: {
        'aws-region': REGION,
        'role-to-assume': roleToAssume,
        'instance-profile': instanceProfile,
        images: 'public.ecr.aws/eks-distro/kubernetes/pause:3.2',
      },
      env: { ...emu.env, GITHUB_RUN_ID: '9001' },
      timeoutMs: 90_000,
    });
    expect(main.stdout).not.toContain('::error::');
    expect(main.code).toBe(0);
    expect(main.outputs['snapshot-id']).toMatch(/^snap-/);
    expect(post.code).toBe(0);
    const launches = emu.calls.filter((c) => c.operation === 'RunInstances');
    expect(launches.map((c) => c.params['IamInstanceProfile.Name'])).toEqual([instanceProfile]);
    const assumed = emu.calls.filter((c) => c.operation === 'AssumeRoleWithWebIdentity');
    expect(assumed.map((c) => c.params.RoleArn)).toContain(roleToAssume);

    const decisions = await evaluateCalls(emu.calls, policies);
    saveEvaluation('setup-template', emu.calls, decisions);
    expect(decisions.some((d) => d.request.action === 'iam:PassRole')).toBe(true);
    expect(describeDenials(decisions)).toEqual([]);
  }, 120_000);
});
