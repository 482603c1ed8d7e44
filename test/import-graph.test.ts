import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { importCycles, importSpecifiers, readImportGraph } from './helpers/import-graph.js';

test('no file in src/ or web/src/ imports itself through other files', () => {
  const graph = readImportGraph('.', ['src', 'web/src']);
  const edges = [...graph.values()].reduce((sum, targets) => sum + targets.length, 0);
  assert.ok(graph.size > 150 && edges > 400, `the graph was read (${graph.size} files, ${edges} imports)`);
  const cycles = importCycles(graph).map((cycle) => cycle.join(' → '));
  assert.deepEqual(cycles, [], `import circles:\n${cycles.join('\n')}`);
});

test("the console takes its types, roles and permission rules from the server's pure modules, and nothing else of it", () => {
  const graph = readImportGraph('.', ['src', 'web/src']);
  const reached = new Set<string>();
  const visit = (file: string) => {
    if (reached.has(file)) return;
    reached.add(file);
    for (const target of graph.get(file) ?? []) visit(target);
  };
  for (const file of graph.keys()) if (file.startsWith('web/src/')) visit(file);
  const shared = ['src/accounts/roles.ts', 'src/coaching/permissions.ts', 'src/contract/account-schemas.ts', 'src/audit/actions.ts'];
  for (const file of shared) assert.ok(reached.has(file), `the console imports ${file}`);
  const server = /^src\/(?:[^/]+\.ts|(?:store|http|cli|ratelimit|sync|importer|export|feed|analytics|seed)\/)/;
  const serverSide = [...reached].filter((file) => server.test(file));
  assert.deepEqual(serverSide, []);
  for (const file of reached) {
    const packages = importSpecifiers(fs.readFileSync(file, 'utf8')).filter((specifier) => !specifier.startsWith('.'));
    const foreign = packages.filter((name) => !/^(?:preact|uplot|@sinclair\/typebox)(?:\/|$)/.test(name));
    assert.deepEqual(foreign, [], `${file} imports packages the console must not bundle`);
  }
});

test('reads every form of import and names a circle from its first file back to it', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'import-graph-'));
  const write = (file: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  };
  write('src/a.ts', "import type {\n  B,\n} from './b.js';\nexport const a = 1;\n");
  write('src/b.ts', "export { c } from './deep/c.js';\nexport type B = number;\n");
  write('src/deep/c.ts', "import '../a.js';\nexport const c = await import('../d.js');\n");
  write('src/d.ts', "import { a } from './a.js';\n// import { x } from './missing.js';\nexport const d = a;\n");
  write('src/e.tsx', "import data from './data.json';\nimport { d } from './d.js';\nexport const e = [data, d];\n");
  write('src/data.json', '{}');
  write('src/f.ts', "import { f } from './f.js';\nexport { f as g };\n");
  try {
    const graph = readImportGraph(root, ['src']);
    assert.deepEqual(graph.get('src/a.ts'), ['src/b.ts']);
    assert.deepEqual(graph.get('src/deep/c.ts'), ['src/a.ts']);
    assert.deepEqual(graph.get('src/e.tsx'), ['src/d.ts']);
    assert.deepEqual(importCycles(graph), [
      ['src/a.ts', 'src/b.ts', 'src/deep/c.ts', 'src/a.ts'],
      ['src/f.ts', 'src/f.ts'],
    ]);
    write('src/g.ts', "import { z } from './nowhere.js';\n");
    assert.throws(() => readImportGraph(root, ['src']), /src\/g\.ts imports \.\/nowhere\.js, which names no file/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
