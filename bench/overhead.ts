/**
 * npm run bench:overhead — the action's own overhead, measured on the bundle.
 *
 * Runs dist/index.js as the runner does against the local AWS (moto + the SSM
 * stand-in, zero AWS latency) with image digests resolved from a real registry
 * on loopback (Debian's docker-registry), and prints for each scenario:
 *   - wall time of the main step, the time the pull script ran on the
 *     simulated instance, and the difference: the action's own time
 *     (Node start, validation, SDK calls, polling, summary);
 *   - AWS API calls per phase, attributed by the phase log groups' timestamps.
 * Scenarios: the article's two images (amd64+arm64), 20 images x 2 platforms,
 * and a cache hit (a rerun with unchanged images). Targets: under 3 s of own
 * time for a full build, under 1.5 s for a cache hit.
 */
import { INSTANCE_PROFILE, ROLE_ARN, startEmulator } from '../test-support/emulator.js';
import { startCountingProxy, type ApiCall } from '../test-support/counting-proxy.js';
import { registryAvailable, startRegistry } from '../test-support/registry.js';
import { runStep } from '../test-support/runner.js';

if (!registryAvailable()) {
  console.error('bench:overhead needs the distribution registry: apt-get install docker-registry');
  process.exit(1);
}

const registry = await startRegistry();
const emu = await startEmulator([]);
const ec2Proxy = await startCountingProxy(emu.moto.url, 'ec2/sts');
const ssmProxy = await startCountingProxy(emu.ssm.url, 'ssm');

interface Row {
  scenario: string;
  wallMs: number;
  scriptMs: number;
  ownMs: number;
  target: number;
  calls: Map<string, number>;
  phaseMs: Map<string, number>;
  total: number;
}

async function scenario(
  name: string,
  images: string[],
  platforms: string,
  target: number,
  runId: string,
): Promise<Row> {
  const phases: Array<{ at: number; name: string }> = [];
  const before = {
    ec2: ec2Proxy.calls.length,
    ssm: ssmProxy.calls.length,
    script: emu.ssm.executionMs(),
  };
  const spawned = Date.now();
  phases[0] = { at: spawned, name: '0 Node start, bundle load, inputs' };
  const result = await runStep({
    inputs: {
      images: images.join('\n'),
      platforms,
      'aws-region': 'us-west-2',
      'role-to-assume': ROLE_ARN,
      'instance-profile': INSTANCE_PROFILE,
      'pull-concurrency': '8',
    },
    env: {
      ...emu.env,
      AWS_ENDPOINT_URL: ec2Proxy.url,
      AWS_ENDPOINT_URL_SSM: ssmProxy.url,
      GITHUB_RUN_ID: runId,
    },
    onLine: (line, at) => {
      const m = /^::group::\[(\d+)\/\d+\] (.*)$/.exec(line);
      if (m) phases.push({ at, name: `${m[1]} ${m[2]}` });
    },
    timeoutMs: 300_000,
  });
  if (result.code !== 0) throw new Error(`${name} failed:\n${result.stdout}\n${result.stderr}`);
  const calls: ApiCall[] = [
    ...ec2Proxy.calls.slice(before.ec2),
    ...ssmProxy.calls.slice(before.ssm),
  ];
  const perPhase = new Map<string, number>();
  for (const call of calls) {
    const phase = [...phases].reverse().find((p) => p.at <= call.at)?.name ?? '0';
    perPhase.set(phase, (perPhase.get(phase) ?? 0) + 1);
  }
  const scriptMs = emu.ssm.executionMs() - before.script;
  const phaseMs = new Map<string, number>();
  const end = spawned + result.ms;
  for (const [i, p] of phases.entries()) phaseMs.set(p.name, (phases[i + 1]?.at ?? end) - p.at);
  return {
    scenario: name,
    wallMs: result.ms,
    scriptMs,
    ownMs: result.ms - scriptMs,
    target,
    calls: perPhase,
    phaseMs,
    total: calls.length,
  };
}

try {
  const push = async (repo: string, tag: string) => {
    const pushed = await registry.pushImage(repo, tag, {
      platforms: ['linux/amd64', 'linux/arm64'],
      index: true,
    });
    return {
      ref: `${registry.host}/${repo}:${tag}`,
      platforms: ['linux/amd64', 'linux/arm64'],
      digest: pushed.digest,
      size: '1.0 GiB',
    };
  };
  const article = [
    await push('eks-distro/kubernetes/pause', '3.2'),
    await push(
      'kubeflow-on-aws/notebook-servers/jupyter-pytorch',
      '1.12.1-cpu-py38-ubuntu20.04-ec2-v1.2',
    ),
  ];
  const many = [];
  for (let i = 0; i < 20; i++) many.push(await push(`team/service-${i}`, 'v1'));
  emu.setRegistry([...article, ...many]);

  const rows = [
    await scenario(
      'article: 2 images x 2 platforms',
      article.map((i) => i.ref),
      'linux/amd64,linux/arm64',
      3000,
      '9001',
    ),
    await scenario(
      '20 images x 2 platforms',
      many.map((i) => i.ref),
      'linux/amd64,linux/arm64',
      3000,
      '9002',
    ),
    await scenario(
      'cache hit (article, unchanged)',
      article.map((i) => i.ref),
      'linux/amd64,linux/arm64',
      1500,
      '9003',
    ),
  ];

  console.log('\nbottlerocket-ebs-snapshot: overhead of the bundled action at zero AWS latency\n');
  console.log('| scenario | wall | on the instance | own time | target | API calls |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const ok = r.ownMs <= r.target ? 'met' : 'MISSED';
    console.log(
      `| ${r.scenario} | ${(r.wallMs / 1000).toFixed(2)} s | ${(r.scriptMs / 1000).toFixed(2)} s | ${(r.ownMs / 1000).toFixed(2)} s | < ${r.target / 1000} s (${ok}) | ${r.total} |`,
    );
  }
  for (const r of rows) {
    console.log(`\n${r.scenario}: API calls and time per phase`);
    for (const [phase, ms] of [...r.phaseMs.entries()].sort()) {
      console.log(
        `  ${phase.padEnd(58)} ${String(r.calls.get(phase) ?? 0).padStart(3)} calls ${(ms / 1000).toFixed(2).padStart(6)} s`,
      );
    }
  }
} finally {
  await ec2Proxy.close();
  await ssmProxy.close();
  await emu.close();
  await registry.stop();
}
