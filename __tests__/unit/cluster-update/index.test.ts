import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DescribeSnapshotsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { ActionError } from '../../../src/core/errors.js';
import type { RunContext } from '../../../src/config/run-context.js';
import type { UpdateConfig } from '../../../src/config/types.js';
import { TAG_IMAGES } from '../../../src/aws/tags.js';
import type { FileUpdate } from '../../../src/cluster-update/manifests/index.js';
import {
  checkManifestsBeforeBuild,
  describeExistingSnapshot,
  toUpdatedFile,
  updateCluster,
  type SnapshotFacts,
} from '../../../src/cluster-update/index.js';
import { MemoryLogger } from '../../../test-support/memory-logger.js';
import { rejectionOf } from '../../../test-support/rejection.js';
import {
  closeFake,
  FULL,
  OWNER,
  REPO,
  setup,
  signal,
  TIMEOUT,
} from '../../../test-support/pull-request-repo.js';

const OLD = 'snap-0a1b2c3d4e5f67890';
const NEW = 'snap-0f1e2d3c4b5a69788';
const MANIFEST = `apiVersion: eksctl.io/v1alpha5
kind: ClusterConfig
metadata:
  name: prod
  region: eu-west-1
managedNodeGroups:
  - name: ng-1
    amiFamily: Bottlerocket
    additionalVolumes:
      - volumeName: /dev/xvda
      - volumeName: /dev/xvdb
        snapshotID: ${OLD}
        volumeSize: 80
`;

const FACTS: SnapshotFacts = {
  snapshotId: NEW,
  volumeSizeGiB: 80,
  region: 'eu-west-1',
  images: [{ reference: 'public.ecr.aws/nginx/nginx:1.27', platform: 'linux/amd64' }],
};

const UPDATE: UpdateConfig = {
  patterns: ['clusters/*.yaml'],
  targets: [],
  maxFileBytes: 4 * 1024 * 1024,
};

const CONTEXT: RunContext = {
  repository: FULL,
  runId: '7',
  runAttempt: '1',
  serverUrl: 'https://github.com',
  oidcAvailable: false,
};

let workspace: string;
const manifest = () => readFile(path.join(workspace, 'clusters/prod.yaml'), 'utf8');

beforeEach(async () => {
  workspace = await mkdtemp(path.join(tmpdir(), 'cluster-update-'));
  await mkdir(path.join(workspace, 'clusters'));
  await writeFile(path.join(workspace, 'clusters/prod.yaml'), MANIFEST);
});

afterEach(async () => {
  await closeFake();
  await rm(workspace, { recursive: true, force: true });
});

describe('describeExistingSnapshot', () => {
  const ec2 = mockClient(EC2Client);
  afterEach(() => {
    ec2.reset();
  });
  const client = () => new EC2Client({ region: 'eu-west-1' });

  it('reads the size and the images from a completed snapshot, with the signal', async () => {
    ec2.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [
        {
          SnapshotId: NEW,
          State: 'completed',
          VolumeSize: 80,
          Tags: [{ Key: TAG_IMAGES, Value: 'nginx:1.27  redis:7' }],
        },
      ],
    });
    const facts = await describeExistingSnapshot(client(), NEW, 'eu-west-1', signal);
    expect(facts).toEqual({
      snapshotId: NEW,
      volumeSizeGiB: 80,
      region: 'eu-west-1',
      images: [
        { reference: 'nginx:1.27', platform: '–' },
        { reference: 'redis:7', platform: '–' },
      ],
    });
    expect(ec2.commandCalls(DescribeSnapshotsCommand)[0]?.args[0].input).toEqual({
      SnapshotIds: [NEW],
    });
  });

  it('says which snapshot does not exist, or is not completed', async () => {
    ec2
      .on(DescribeSnapshotsCommand)
      .rejects(Object.assign(new Error('no such snapshot'), { name: 'InvalidSnapshot.NotFound' }));
    const missing = await rejectionOf(describeExistingSnapshot(client(), NEW, 'eu-west-1', signal));
    expect(missing).toBeInstanceOf(ActionError);
    expect(missing.message).toBe(
      `Input 'snapshot-id': ${NEW} does not exist in eu-west-1 (or is not visible to this account).`,
    );
    ec2.reset();
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
    const none = await rejectionOf(describeExistingSnapshot(client(), NEW, 'eu-west-1', signal));
    expect(none.message).toBe(`Input 'snapshot-id': ${NEW} does not exist in eu-west-1.`);
    ec2.reset();
    ec2
      .on(DescribeSnapshotsCommand)
      .resolves({ Snapshots: [{ SnapshotId: NEW, State: 'pending' }] });
    const pending = await rejectionOf(describeExistingSnapshot(client(), NEW, 'eu-west-1', signal));
    expect(pending.message).toBe(
      `Input 'snapshot-id': ${NEW} is pending, not completed; nodes cannot use it yet.`,
    );
  });
});

describe('checkManifestsBeforeBuild', () => {
  it('answers the matched files and writes nothing', async () => {
    expect(await checkManifestsBeforeBuild(UPDATE, workspace, 100)).toEqual(['clusters/prod.yaml']);
    expect(await manifest()).toBe(MANIFEST);
  });

  it('throws what the real update would', async () => {
    const error = await rejectionOf(
      checkManifestsBeforeBuild({ ...UPDATE, patterns: ['nothing/*.yaml'] }, workspace),
    );
    expect(error).toBeInstanceOf(ActionError);
    expect(error.message).toContain('Nothing was updated: no file matched update-files');
  });
});

describe('updateCluster', () => {
  it('rewrites the manifests and reports what changed and which snapshots they name', async () => {
    const logger = new MemoryLogger();
    const result = await updateCluster(FACTS, UPDATE, {
      workspace,
      context: CONTEXT,
      logger,
      signal,
    });
    expect(await manifest()).toBe(MANIFEST.replace(OLD, NEW));
    expect(result).toEqual({
      updatedFiles: [
        {
          path: 'clusters/prod.yaml',
          targets: [
            expect.objectContaining({
              name: 'ng-1',
              previousSnapshotId: OLD,
              snapshotId: NEW,
            }),
          ],
        },
      ],
      warnings: [],
      missingDataVolumes: [],
      lookedAt: ['clusters/prod.yaml'],
      referencedSnapshotIds: [OLD, NEW],
    });
    expect(logger.text()).toContain('Updated 1 file(s): clusters/prod.yaml.');

    const again = await updateCluster(FACTS, UPDATE, {
      workspace,
      context: CONTEXT,
      logger,
      signal,
    });
    expect(again.updatedFiles).toEqual([]);
    expect(again.referencedSnapshotIds).toEqual([NEW]);
    expect(logger.text()).toContain(`The manifests already use ${NEW}; nothing to change.`);
  });

  it('turns the warnings of each file (with path and line) and the names in targets that matched nothing into warnings for the summary', async () => {
    // A group without /dev/xvda: the rewrite warns about it.
    await writeFile(
      path.join(workspace, 'clusters/other.yaml'),
      MANIFEST.replace('      - volumeName: /dev/xvda\n', '').replace('ng-1', 'ng-2'),
    );
    const result = await updateCluster(
      FACTS,
      { ...UPDATE, targets: ['ng-1', 'ng-2', 'ng-9'] },
      { workspace, context: CONTEXT, logger: new MemoryLogger(), signal },
    );
    expect(result.warnings).toEqual([
      {
        path: 'clusters/other.yaml',
        line: 7,
        message: expect.stringContaining(
          "eksctl managed node group 'ng-2' is Bottlerocket without a volumeName: /dev/xvda override",
        ),
      },
      {
        message:
          "targets lists 'ng-9', but no eksctl node group or Karpenter node class of that name with a /dev/xvdb data volume was found in the matched files",
      },
    ]);
  });

  const withPullRequest: UpdateConfig = {
    ...UPDATE,
    pullRequest: { token: 't', branch: 'snapshot/prod', labels: ['bottlerocket'], draft: false },
  };

  it('refuses a pull request without a client or a repository name', async () => {
    const logger = new MemoryLogger();
    const noClient = await rejectionOf(
      updateCluster(FACTS, withPullRequest, { workspace, context: CONTEXT, logger, signal }),
    );
    expect(noClient).toBeInstanceOf(ActionError);
    expect(noClient.message).toBe(
      'A pull request was asked for but no GitHub client is available.',
    );
    const { octokit } = await setup();
    const badName = await rejectionOf(
      updateCluster(FACTS, withPullRequest, {
        workspace,
        context: { ...CONTEXT, repository: 'infra' },
        logger,
        signal,
        octokit,
      }),
    );
    expect(badName.message).toBe("GITHUB_REPOSITORY 'infra' is not owner/name.");
  });

  it(
    'opens the pull request with the rewritten files, the default title and the run in the commit',
    async () => {
      const { fake, octokit, logger } = await setup({
        repos: [{ owner: OWNER, name: REPO, files: { 'clusters/prod.yaml': MANIFEST } }],
      });
      const result = await updateCluster(FACTS, withPullRequest, {
        workspace,
        context: CONTEXT,
        logger,
        signal,
        octokit,
      });
      expect(result.pullRequest).toMatchObject({
        operation: 'created',
        number: 1,
        branch: 'snapshot/prod',
        base: 'main',
      });
      expect(fake.files(FULL, 'snapshot/prod')).toEqual({
        'clusters/prod.yaml': MANIFEST.replace(OLD, NEW),
      });
      const pull = fake.repo(FULL).pulls[0];
      expect(pull).toMatchObject({
        title: `Use Bottlerocket data volume snapshot ${NEW}`,
        labels: ['bottlerocket'],
      });
      expect(pull?.body).toContain('nginx/nginx:1.27');
      const head = fake.commit(FULL, fake.head(FULL, 'snapshot/prod') as string);
      expect(head.message).toBe(
        `Point Bottlerocket data volumes at ${NEW}\n\nBuilt by https://github.com/${FULL}/actions/runs/7/attempts/1`,
      );
    },
    TIMEOUT,
  );

  it(
    'makes no GitHub call once the signal is aborted',
    async () => {
      const { fake, octokit, logger } = await setup();
      const aborted = new AbortController();
      aborted.abort();
      const error = await rejectionOf(
        updateCluster(FACTS, withPullRequest, {
          workspace,
          context: CONTEXT,
          logger,
          signal: aborted.signal,
          octokit,
        }),
      );
      expect(error).toBeInstanceOf(ActionError);
      expect(fake.requests).toEqual([]);
    },
    TIMEOUT,
  );
});

describe('toUpdatedFile', () => {
  it('keeps the changed targets, with sizes only where there are some', () => {
    const target: FileUpdate['targets'][number] = {
      kind: 'eksctl-managed-nodegroup',
      apiVersion: 'eksctl.io/v1alpha5',
      name: 'ng-1',
      line: 7,
      previousSnapshotId: OLD,
      snapshotId: NEW,
      changed: true,
    };
    const file: FileUpdate = {
      path: 'a.yaml',
      changed: true,
      content: '',
      original: '',
      warnings: [],
      notices: [],
      missingDataVolumes: [],
      targets: [
        target,
        { ...target, name: 'ng-2', changed: false },
        { ...target, name: 'ng-3', previousSize: '50', size: '80' },
      ],
    };
    expect(toUpdatedFile(file)).toEqual({
      path: 'a.yaml',
      targets: [
        { kind: target.kind, name: 'ng-1', line: 7, previousSnapshotId: OLD, snapshotId: NEW },
        {
          kind: target.kind,
          name: 'ng-3',
          line: 7,
          previousSnapshotId: OLD,
          snapshotId: NEW,
          previousSize: '50',
          size: '80',
        },
      ],
    });
  });
});
