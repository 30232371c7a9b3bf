// Fails when dist/ differs from a fresh build of the committed sources.
import { execFileSync } from 'node:child_process';

execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
const status = execFileSync('git', ['status', '--porcelain', '--', 'dist'], { encoding: 'utf8' });
if (status.trim() !== '') {
  console.error('dist/ does not match a fresh build. Run `npm run build` and commit dist/.');
  console.error(status);
  console.error(execFileSync('git', ['diff', '--stat', '--', 'dist'], { encoding: 'utf8' }));
  process.exit(1);
}
console.log('dist/ matches a fresh build.');
