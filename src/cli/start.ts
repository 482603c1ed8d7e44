/**
 * The entry point of the command line and of `npm start`. It checks the Node.js version before
 * anything else loads: on an unsupported Node the SQLite driver's native module would crash the
 * process (a segmentation fault on Node 20) instead of saying what is wrong. Static imports are
 * evaluated before a module's own code, so this module imports only Node's built-ins and loads
 * the real command line with a dynamic import once the check has passed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** package.json `engines`: 22.12 or newer on line 22, then 24 and 26. */
function isSupportedNode(version: string): boolean {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 12);
}

/**
 * The command's arguments as the message repeats them: an API token (`--token T`, `--token=T`)
 * and a password in a URL never reach the terminal or a log that collects stderr, and an argument
 * the shell would split is quoted, so the line can be copied once the token is put back.
 */
function shownArgs(args: string[]): string[] {
  return args.map((arg, i) => {
    if (args[i - 1] === '--token') return '<token>';
    if (arg.startsWith('--token=')) return '--token=<token>';
    const equals = arg.startsWith('--') ? arg.indexOf('=') + 1 : 0;
    const shown = arg.slice(0, equals) + withoutPassword(arg.slice(equals));
    return /^[\w@%+=:,./-]+$/.test(shown) ? shown : `'${shown.replaceAll("'", "'\\''")}'`;
  });
}

// new URL, not URL.canParse: this runs on the old Node being turned away, which may predate it.
function withoutPassword(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return value;
  }
  if (url.password === '') return value;
  url.password = '***';
  return url.href;
}

/** The one line an unsupported Node gets: what was found and how to run the bundled Node instead. */
function unsupportedNodeMessage(version: string, execPath: string, args: string[], root: string = ROOT): string {
  const bundled = path.join(root, 'node_modules', '.bin', 'node');
  const command = [bundled, path.join(root, 'bin', 'coachport.js'), ...shownArgs(args)].join(' ');
  const remedy = fs.existsSync(bundled)
    ? `run it with the bundled Node: ${command} (npm start and npx coachport use it too)`
    : 'install Node 22.12 or newer, 24 or 26, or run npm install to bring the bundled Node 26';
  return `coachport: Node.js ${version} (${execPath}) is not supported, it needs 22.12 or newer; ${remedy}.`;
}

if (!isSupportedNode(process.versions.node)) {
  process.stderr.write(`${unsupportedNodeMessage(process.version, process.execPath, process.argv.slice(2))}\n`);
  process.exit(1);
}
// A reader that goes away (`coachport export --help | head`) ends the process quietly with SIGPIPE's
// status (128 + 13), as it ends other commands, instead of an unhandled EPIPE with a stack trace; a
// server whose output is gone stops the same way, and its supervisor sees that it did not exit cleanly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(141);
});
(await import('./tuned-process.js')).execTunedProcess();
await import('./main.js');
