/**
 * `npm run demo`: the bundled action, run exactly as the GitHub runner runs it
 * (node dist/index.js, INPUT_* variables, GITHUB_OUTPUT/STATE/STEP_SUMMARY
 * files, an OIDC token endpoint), against a local AWS: moto_server for
 * EC2/STS/IAM and the in-repo SSM stand-in, which runs the generated instance
 * script here with stand-ins for Bottlerocket's apiclient and containerd's ctr.
 * It builds a snapshot of the article's two images for amd64 and arm64, then
 * runs the post step, and prints the outputs, the job summary and what is left
 * in the emulated account (nothing but the snapshot).
 *
 * The log is printed as it arrives and as the runner shows it (test-support/runner-log.ts):
 * groups as headers, ::debug:: only with RUNNER_DEBUG=1, ::add-mask:: values as ***.
 */
import { DescribeInstancesCommand, DescribeSnapshotsCommand } from '@aws-sdk/client-ec2';
import { INSTANCE_PROFILE, ROLE_ARN, startEmulator } from '../test-support/emulator.js';
import { RunnerLog } from '../test-support/runner-log.js';
import { runStep } from '../test-support/runner.js';

const PAUSE = 'public.ecr.aws/eks-distro/kubernetes/pause:3.2';
const JUPYTER =
  'public.ecr.aws/kubeflow-on-aws/notebook-servers/jupyter-pytorch:1.12.1-cpu-py38-ubuntu20.04-ec2-v1.2';

const rule = (title: string) =>
  console.log(`\n\x1b[1m── ${title} ${'─'.repeat(Math.max(0, 70 - title.length))}\x1b[0m`);

const emu = await startEmulator([
  {
    ref: PAUSE,
    platforms: ['linux/amd64', 'linux/arm64'],
    digest: `sha256:${'0f'.repeat(32)}`,
    size: '301.6 KiB',
    delaySeconds: 0.5,
  },
  {
    ref: JUPYTER,
    platforms: ['linux/amd64', 'linux/arm64'],
    digest: `sha256:${'9c'.repeat(32)}`,
    size: '4.6 GiB',
    delaySeconds: 2,
  },
]);
try {
  const inputs = {
    images: `${PAUSE}\n${JUPYTER}`,
    platforms: 'linux/amd64,linux/arm64',
    'aws-region': 'us-west-2',
    'role-to-assume': ROLE_ARN,
    'instance-profile': INSTANCE_PROFILE,
    'volume-size': '80',
    tags: 'team=ml-platform',
  };
  rule('Workflow step');
  console.log('uses: acme/bottlerocket-ebs-snapshot@v1\nwith:');
  for (const [k, v] of Object.entries(inputs))
    console.log(`  ${k}: ${v.includes('\n') ? `|\n    ${v.split('\n').join('\n    ')}` : v}`);

  // One masker for the job, as on the runner: what the main step masked stays masked in post.
  // With step debug logging the runner shows ::debug:: lines and sets RUNNER_DEBUG=1 for steps.
  const debug = process.env.RUNNER_DEBUG === '1';
  const env = { ...emu.env, ...(debug ? { RUNNER_DEBUG: '1' } : {}) };
  const log = new RunnerLog({
    debug,
    write: (line) => console.log(line),
    color: process.stdout.isTTY,
  });
  const unresolved: string[] = [];
  const onLine = (line: string) => {
    if (/^::warning::Could not resolve \S+ from the runner/.test(line)) unresolved.push(line);
    log.line(line);
  };

  rule('Main step log (node dist/index.js)');
  const main = await runStep({ inputs, env, onLine });
  if (main.stderr.trim()) for (const line of main.stderr.trimEnd().split('\n')) log.line(line);
  if (unresolved.length > 0) {
    console.log(
      `\n(The runner could not resolve ${unresolved.length} image(s) from this machine, so the action built` +
        ' without looking for a reusable snapshot, as it says above. `npm test` covers digest' +
        ' resolution and reuse against a registry on loopback.)',
    );
  }
  rule('Post step log');
  const post = await runStep({ inputs, env, state: main.state, onLine });
  console.log(`(post step exit ${post.code})`);

  rule(`Outputs (main step exit ${main.code})`);
  for (const [k, v] of Object.entries(main.outputs)) console.log(log.mask(`${k}=${v}`));
  rule('Job summary (GITHUB_STEP_SUMMARY)');
  console.log(log.mask(main.summary));

  rule('What is left in the emulated account');
  const instances = await emu.ec2.send(new DescribeInstancesCommand({}));
  for (const i of (instances.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
    console.log(`instance ${i.InstanceId}: ${i.State?.Name}`);
  }
  const snapshots = await emu.ec2.send(
    new DescribeSnapshotsCommand({
      Filters: [{ Name: 'tag-key', Values: ['bottlerocket-ebs-snapshot:run'] }],
    }),
  );
  for (const s of snapshots.Snapshots ?? [])
    console.log(`snapshot ${s.SnapshotId}: ${s.State}, ${s.VolumeSize} GiB, "${s.Description}"`);
  process.exitCode = main.code === 0 && post.code === 0 ? 0 : 1;
} finally {
  await emu.close();
}
