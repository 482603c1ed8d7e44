import fs from 'node:fs';
import path from 'node:path';

/**
 * The graph of static imports between the TypeScript files under some folders, read from source with a
 * regular expression (no parser, no dependency). Type-only imports count: a circle of types is still a
 * circle of files. Dynamic `import()` does not: it is how a module loads a driver lazily.
 */

/** Relative path (with forward slashes) of a file → the relative paths of the files it imports. */
export type ImportGraph = Map<string, string[]>;

// `import … from '…'`, `export … from '…'` (the clause may span lines) and `import '…'`, each at a line's start.
const IMPORT = /^[ \t]*(?:import|export)\b[^'";]*?\bfrom[ \t]*['"]([^'"]+)['"]|^[ \t]*import[ \t]*['"]([^'"]+)['"]/gm;

export function importSpecifiers(source: string): string[] {
  return [...source.matchAll(IMPORT)].map((match) => (match[1] ?? match[2])!);
}

function sourceFiles(root: string, folder: string): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(path.join(root, folder), { withFileTypes: true })) {
    const relative = path.posix.join(folder, entry.name);
    if (entry.isDirectory()) found.push(...sourceFiles(root, relative));
    else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) found.push(relative);
  }
  return found;
}

/** The file a relative specifier names, as TypeScript resolves `./x.js` to `./x.ts`; null for other files (JSON, CSS). */
function resolve(root: string, from: string, specifier: string): string | null {
  const target = path.posix.join(path.posix.dirname(from), specifier);
  const stem = target.replace(/\.(?:js|jsx|ts|tsx)$/, '');
  if (/\.(?:json|css|svg|png)$/.test(target)) return null;
  for (const candidate of [`${stem}.ts`, `${stem}.tsx`, `${stem}/index.ts`, `${stem}/index.tsx`]) {
    if (fs.existsSync(path.join(root, candidate))) return candidate;
  }
  throw new Error(`${from} imports ${specifier}, which names no file`);
}

export function readImportGraph(root: string, folders: string[]): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const file of folders.flatMap((folder) => sourceFiles(root, folder))) {
    const source = fs.readFileSync(path.join(root, file), 'utf8');
    const targets = importSpecifiers(source)
      .filter((specifier) => specifier.startsWith('.'))
      .map((specifier) => resolve(root, file, specifier))
      .filter((target): target is string => target !== null);
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/**
 * Every circle of imports, one per group of files that reach each other (Tarjan's strongly
 * connected components), each written as a path that starts and ends at the same file.
 */
export function importCycles(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  let next = 0;

  const visit = (file: string) => {
    index.set(file, next);
    low.set(file, next);
    next += 1;
    stack.push(file);
    onStack.add(file);
    for (const target of graph.get(file) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(file, Math.min(low.get(file)!, index.get(target)!));
      }
    }
    if (low.get(file) === index.get(file)) {
      const group: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        group.push(member);
      } while (member !== file);
      if (group.length > 1 || (graph.get(file) ?? []).includes(file)) groups.push(group);
    }
  };
  for (const file of [...graph.keys()].sort()) if (!index.has(file)) visit(file);

  return groups.map((group) => cycleWithin(graph, new Set(group))).sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/** One concrete circle through the group's first file (in name order), found breadth-first so it is a shortest one. */
function cycleWithin(graph: ImportGraph, group: Set<string>): string[] {
  const start = [...group].sort()[0]!;
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const file = queue.shift()!;
    for (const target of graph.get(file) ?? []) {
      if (!group.has(target)) continue;
      if (target === start) {
        const between: string[] = [];
        for (let at = file; at !== start; at = cameFrom.get(at)!) between.unshift(at);
        return [start, ...between, start];
      }
      if (!cameFrom.has(target)) {
        cameFrom.set(target, file);
        queue.push(target);
      }
    }
  }
  throw new Error(`no circle through ${start}`);
}
