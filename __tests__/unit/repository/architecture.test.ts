// The folders of src/ are its parts, lowest layer first (scripts/architecture.mjs): every import
// points down the list, no module imports itself back through others, no file sits outside the
// folders, and the lint rule that enforces the direction on every edit really fires.
import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ESLint } from 'eslint';
import {
  ROOT,
  filesOutsideLayers,
  importCycles,
  importGraph,
  sourceModules,
  unknownFolders,
  upwardImports,
} from '../../../scripts/architecture.mjs';

function fixture(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'bes-arch-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('src/ as its parts', () => {
  const graph = importGraph();

  it('reads every module and its imports', () => {
    expect(sourceModules().length).toBeGreaterThan(50);
    expect(graph.get('src/entry/main.ts')).toContain('src/action/index.ts');
  });

  it('has no file outside the layer folders and no folder the map leaves out', () => {
    expect(filesOutsideLayers()).toEqual([]);
    expect(unknownFolders()).toEqual([]);
  });

  it('imports only downwards', () => {
    expect(upwardImports(graph)).toEqual([]);
  });

  it('has no import cycle', () => {
    expect(importCycles(graph)).toEqual([]);
  });
});

describe('the checks themselves', () => {
  const root = fixture({
    'src/core/a.ts': "import { b } from './b.js';\nexport const a = b;\n",
    'src/core/b.ts':
      "import type { a } from './a.js';\nexport const b = 1 as unknown as typeof a;\n",
    'src/core/c.ts': "import { d } from '../build/d.js';\nexport const c = d;\n",
    'src/build/d.ts': "import { a } from '../core/a.js';\nexport const d = a;\n",
    'src/loose.ts': 'export {};\n',
    'src/build/odd/e.ts': 'export {};\n',
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const graph = importGraph(root);

  it('find a cycle, also one through a type import', () => {
    expect(importCycles(graph)).toEqual([['src/core/a.ts', 'src/core/b.ts']]);
  });

  it('find an import that points up', () => {
    expect(upwardImports(graph)).toEqual(['src/core/c.ts -> src/build/d.ts']);
  });

  it('find loose files and unmapped folders', () => {
    expect(filesOutsideLayers(root)).toEqual(['src/loose.ts']);
    expect(unknownFolders(root)).toEqual(['build/odd']);
  });

  it('the lint rule refuses a function over 80 lines in src/', async () => {
    const eslint = new ESLint({ cwd: ROOT });
    const body = Array.from({ length: 80 }, (_, i) => `  total += ${i};`).join('\n');
    const text = `export function long(): number {\n  let total = 0;\n${body}\n  return total;\n}\n`;
    const [result] = await eslint.lintText(text, { filePath: join(ROOT, 'src/core/x.ts') });
    expect(result?.messages.map((m) => m.ruleId)).toEqual(['max-lines-per-function']);
  });

  it('the lint rule refuses an upward import and @actions/* outside entry/', async () => {
    const eslint = new ESLint({ cwd: ROOT });
    const lint = async (path: string, text: string) =>
      (await eslint.lintText(text, { filePath: join(ROOT, path) }))
        .flatMap((r) => r.messages)
        .map((m) => m.ruleId);
    expect(
      await lint('src/core/x.ts', "import type { X } from '../build/x.js';\nexport type Y = X;\n"),
    ).toContain('no-restricted-imports');
    expect(
      await lint(
        'src/cache/registry/x.ts',
        "import { x } from '../../action/x.js';\nexport const y = x;\n",
      ),
    ).toContain('no-restricted-imports');
    expect(
      await lint(
        'src/build/x.ts',
        "import * as core from '@actions/core';\nexport const y = core;\n",
      ),
    ).toContain('no-restricted-imports');
    expect(
      await lint('src/build/x.ts', "import { a } from '../aws/x.js';\nexport const y = a;\n"),
    ).toEqual([]);
  });
});
