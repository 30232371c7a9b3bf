/**
 * Untrusted text never forms a workflow command: the bundle, run as the runner runs it,
 * is fed workflow commands through what it logs from outside: a file name, a node group
 * name and a value inside a manifest, an AMI name in EC2's answer and an EC2 error message
 * (through a proxy that rewrites them), a registry's error as ctr prints it on the builder. The step's output is
 * then read the way the runner reads it (test-support/workflow-commands.ts): none of the
 * injected commands is there, though the injected text is.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILD_INPUTS, startEmulator, type Emulator } from '../../test-support/emulator.js';
import { startFaultProxy, type FaultProxy } from '../../test-support/fault-proxy.js';
import { REPO_ROOT, runMainAndPost } from '../../test-support/runner.js';
import { workflowCommands, type WorkflowCommand } from '../../test-support/workflow-commands.js';

const PAUSE = 'public.ecr.aws/eks-distro/kubernetes/pause:3.2';
const EVIL_IMAGE = 'docker.io/acme/evil:1';
const EKSCTL = readFileSync(join(REPO_ROOT, '__fixtures__/manifests/eksctl-article.yaml'), 'utf8');

let emu: Emulator;
let proxy: FaultProxy;
const dirs: string[] = [];

beforeAll(async () => {
  emu = await startEmulator([
    { ref: PAUSE, platforms: ['linux/amd64'] },
    // The registry's refusal as ctr prints it, with carriage returns in it.
    {
      ref: EVIL_IMAGE,
      platforms: ['linux/amd64'],
      error: 'not found\r::add-mask::snap\r::warning::ctr-injected',
    },
  ]);
  proxy = await startFaultProxy(emu.moto.url);
}, 60_000);
afterAll(async () => {
  await proxy?.close();
  await emu?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}, 30_000);

/**
 * Commands the action did not mean: a mask of 'snap', or one whose text starts with an
 * injected marker (the action's own annotations may quote the injected text, further in).
 */
function injected(commands: WorkflowCommand[]): WorkflowCommand[] {
  return commands.filter(
    (c) => (c.name === 'add-mask' && c.data.trim() === 'snap') || /^\S*-injected/.test(c.data),
  );
}

function job(inputs: Record<string, string>, workspace: string, runId: string) {
  return {
    inputs: {
      ...BUILD_INPUTS,
      ...inputs,
    },
    env: {
      ...emu.env,
      AWS_ENDPOINT_URL_EC2: proxy.url,
      GITHUB_RUN_ID: runId,
      GITHUB_WORKSPACE: workspace,
    },
    timeoutMs: 60_000,
  };
}

describe('no workflow command from untrusted text', () => {
  it('file names, manifest names and values, and EC2 answers', async () => {
    const workspace = mkdtempSync(join(tmpdir(), 'bes-inject-'));
    dirs.push(workspace);
    mkdirSync(join(workspace, 'clusters'));
    const name = 'prod\n::warning::file-name-injected.yaml';
    writeFileSync(
      join(workspace, 'clusters', name),
      EKSCTL.replace('name: prefetch-mng', 'name: "prefetch\\n::add-mask::snap"').replace(
        'snapshotID: snap-0a1b2c3d4e5f67890',
        'snapshotID: "snap-0a1b2c3d4e5f67890\\n::error::yaml-value-injected"',
      ),
    );
    proxy.inject({
      operation: 'DescribeImages',
      times: 10,
      fault: {
        kind: 'rewrite',
        body: (xml) =>
          xml.replace(
            /<name>[^<]*<\/name>/,
            '<name>bottlerocket&#10;::add-mask::snap&#13;::warning::aws-name-injected</name>',
          ),
      },
    });
    const { main, post } = await runMainAndPost(
      job(
        { images: PAUSE, 'ami-id': emu.amiId, 'update-files': 'clusters/*.yaml' },
        workspace,
        '9101',
      ),
    );
    proxy.clear();
    expect(main.code).toBe(0);
    expect(post.code).toBe(0);
    const output = main.stdout + main.stderr;
    // The text got there, as text...
    expect(output).toContain('\\::warning::file-name-injected.yaml');
    expect(output).toContain('\\::add-mask::snap');
    expect(output).toContain('\\::warning::aws-name-injected');
    // ...and forms no command.
    expect(injected(workflowCommands(output))).toEqual([]);
    // The file was still updated, under its own name.
    expect(readdirSync(join(workspace, 'clusters'))).toEqual([name]);
    expect(readFileSync(join(workspace, 'clusters', name), 'utf8')).toContain(
      main.outputs['snapshot-id'] ?? 'missing',
    );
  }, 90_000);

  it("an EC2 error's message", async () => {
    const workspace = mkdtempSync(join(tmpdir(), 'bes-inject-'));
    dirs.push(workspace);
    // EC2's refusal of the first instance type, in its own error format (a 400 the SDK does
    // not retry), its message carrying commands. EC2 did launch it: the sweep removes it.
    proxy.inject({
      operation: 'RunInstances',
      fault: {
        kind: 'rewrite',
        status: 400,
        body: () =>
          '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>InsufficientInstanceCapacity</Code>' +
          '<Message>no capacity&#10;::add-mask::snap&#13;::warning::aws-error-injected</Message></Error></Errors>' +
          '<RequestID>f00d</RequestID></Response>',
      },
    });
    const { main, post } = await runMainAndPost(
      job({ images: PAUSE, 'instance-type': 'm6i.xlarge,m5.xlarge' }, workspace, '9103'),
    );
    proxy.clear();
    expect(main.code).toBe(0);
    expect(post.code).toBe(0);
    const output = main.stdout + main.stderr;
    expect(output).toContain('aws-error-injected');
    expect(main.stdout).toContain('No capacity for m6i.xlarge');
    expect(injected(workflowCommands(output))).toEqual([]);
    // The instance EC2 launched for the refused answer was found by tag and terminated.
    const live = await emu.ec2.send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: 'tag:bottlerocket-ebs-snapshot:run', Values: ['acme/platform/9103/1'] },
          { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
        ],
      }),
    );
    expect(live.Reservations ?? []).toEqual([]);
  }, 90_000);

  it('a registry error as ctr prints it on the builder', async () => {
    const workspace = mkdtempSync(join(tmpdir(), 'bes-inject-'));
    dirs.push(workspace);
    const { main, post } = await runMainAndPost(job({ images: EVIL_IMAGE }, workspace, '9102'));
    expect(main.code).toBe(1);
    expect(post.code).toBe(0);
    const output = main.stdout + main.stderr;
    expect(output).toContain('ctr-injected');
    expect(injected(workflowCommands(output))).toEqual([]);
  }, 90_000);
});
