import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ExportApiError, OutputError } from '../../client/errors.js';
import { ExportClient, type DeliveredWindow, type ExportRange } from '../../client/export-client.js';
import { planWindows } from '../../client/windows.js';
import { CsvWriter } from '../../client/writers/csv-writer.js';
import { JsonWriter, StdoutJsonWriter } from '../../client/writers/json-writer.js';
import type { ExportWriter } from '../../client/writers/writer.js';
import { TIME_AXES, type TimeAxis } from '../../contract/time-axes.js';
import { CliError, EXIT_USAGE } from '../context.js';
import { Progress } from '../progress.js';
import { checkDays, checkPace, serverAddress, shownServer } from '../server-options.js';

/** The export's own files could not be written (a full disk): the server is not at fault. */
const EXIT_OUTPUT = 1;
export const EXIT_AUTH = 3;
export const EXIT_SERVER = 4;
export const EXIT_INTERRUPTED = 130;

const FORMATS = ['json', 'ndjson', 'csv'] as const;
type Format = (typeof FORMATS)[number];

interface Options {
  url: string;
  token?: string;
  from: string;
  to: string;
  timeAxis: string;
  format: string;
  out?: string;
  resume?: boolean;
  csvRaw?: boolean;
  gzip?: boolean;
  perSecond: string;
  perMinute: string;
}

/** What `--resume` needs: the same request, how far it got, and where each file was cut. */
interface ResumeState {
  url: string;
  from: string;
  to: string;
  timeAxis: TimeAxis;
  format: Format;
  /** Absent in the state of an export from before --csv-raw existed: it wrote cells for people. */
  csvRaw?: boolean;
  windowsDone: number;
  offsets: Record<string, number>;
}

function stateFile(format: Format, out: string): string {
  return format === 'csv' ? path.join(out, '.coachport-export.json') : `${out}.coachport-export.json`;
}

function readState(file: string, expected: Omit<ResumeState, 'windowsDone' | 'offsets'>): ResumeState | null {
  if (!fs.existsSync(file)) return null;
  const state = JSON.parse(fs.readFileSync(file, 'utf8')) as ResumeState;
  // The server as it is kept (states written before kept the address as typed, its query too).
  state.url = keptServer(state.url);
  // Files by their full path: `./a.ndjson` and `a.ndjson` are one file (states written before kept them as typed).
  state.offsets = Object.fromEntries(Object.entries(state.offsets).map(([name, offset]) => [path.resolve(name), offset]));
  if ((state.csvRaw ?? false) !== (expected.csvRaw ?? false)) {
    const was = state.csvRaw ? 'with' : 'without';
    throw new CliError(`--resume: the interrupted export was written ${was} --csv-raw; run it the same way.`, EXIT_USAGE);
  }
  for (const key of ['url', 'from', 'to', 'timeAxis', 'format'] as const) {
    if (state[key] !== expected[key]) {
      throw new CliError(
        `--resume: the interrupted export had --${key === 'timeAxis' ? 'time-axis' : key} ${state[key]}, not ${expected[key]}.`,
        EXIT_USAGE,
      );
    }
  }
  return state;
}

/**
 * A file that is gone or cut shorter than the state says cannot be continued: writing at the saved
 * offset would leave a hole of NUL bytes before the rest. A file the export writes that the state
 * does not name cannot either: begun again, it would lose the windows written before.
 */
function checkResumable(offsets: Record<string, number>, files: string[]): void {
  const unnamed = files.find((file) => offsets[file] === undefined);
  if (unnamed !== undefined) {
    throw new CliError(`--resume: the interrupted export did not write ${unnamed}; run it again without --resume.`, EXIT_USAGE);
  }
  for (const [file, offset] of Object.entries(offsets)) {
    const size = fs.statSync(file, { throwIfNoEntry: false })?.size;
    if (size !== undefined && size >= offset) continue;
    const what = size === undefined ? 'is gone' : `holds ${size} bytes, fewer than the ${offset} the interrupted export wrote`;
    throw new CliError(`--resume: ${file} ${what}, so the export cannot be continued; run it again without --resume.`, EXIT_USAGE);
  }
}

/** A server's address as the state keeps and compares it: without a query, which no request uses. */
function keptServer(url: string): string {
  return URL.canParse(url) ? shownServer(new URL(url)) : url;
}

function writeState(file: string, state: ResumeState): void {
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(state));
  fs.renameSync(`${file}.tmp`, file);
}

/**
 * Threads that make CSV rows beside the one reading the response: one, when there is a second core.
 * With the rows made in WebAssembly (csv-rows.wat) one thread keeps up with the reading, which is
 * then what limits the export: on the bench's two cores a second thread made it slower (medians
 * 1.72 against 1.61 s for 470 MB) and took 60 MB more.
 */
function csvThreads(): number {
  return os.availableParallelism() > 1 ? 1 : 0;
}

function openWriter(format: Format, out: string | undefined, offsets: Record<string, number> | null, csvRaw: boolean): ExportWriter {
  // Lean: `windowsOf` gives a writer with `endResponse` every response's end.
  if (format === 'csv') return new CsvWriter(out!, offsets, { raw: csvRaw }, { threads: csvThreads() }, true);
  if (!out) return new StdoutJsonWriter(format === 'ndjson');
  return new JsonWriter(out, format === 'ndjson', offsets ? (offsets[out] ?? null) : null);
}

/**
 * Each window written, then yielded to be committed. Files take each session's text straight from
 * the response, with no spool (a window cut short is discarded back to the last commit): JSON and
 * NDJSON copy it, CSV parses it. Standard output, which cannot take anything back, copies texts
 * from the spool once the window is complete.
 */
async function* windowsOf(
  client: ExportClient,
  range: ExportRange,
  writer: ExportWriter,
  firstIndex: number,
): AsyncGenerator<DeliveredWindow> {
  const { writeText, discard } = writer;
  if (writeText && discard) {
    const sink = {
      text: writeText.bind(writer),
      discard: discard.bind(writer),
      parses: writer.parsesText === true,
      writeLeading: writer.writeLeading?.bind(writer),
      copies: writer.copiesText === true,
      response: writer.response,
      end: writer.endResponse?.bind(writer),
    };
    yield* client.exportWindowsInto(range, sink, firstIndex);
    return;
  }
  for await (const completed of client.exportWindows(range, firstIndex)) {
    if (writeText) for await (const text of completed.texts()) writeText.call(writer, text);
    else for await (const session of completed.sessions()) writer.write(session);
    yield completed;
  }
}

function validate(options: Options): { format: Format; timeAxis: TimeAxis; token: string } {
  const token = options.token ?? process.env.COACHPORT_TOKEN;
  if (!token) throw new CliError('No API token: pass --token or set COACHPORT_TOKEN.', EXIT_USAGE);
  if (!(FORMATS as readonly string[]).includes(options.format))
    throw new CliError(`--format must be one of ${FORMATS.join(', ')}.`, EXIT_USAGE);
  if (!(TIME_AXES as readonly string[]).includes(options.timeAxis))
    throw new CliError(`--time-axis must be one of ${TIME_AXES.join(', ')}.`, EXIT_USAGE);
  if (options.format === 'csv' && !options.out)
    throw new CliError('--format csv writes a folder of tables: name it with --out.', EXIT_USAGE);
  if (options.csvRaw && options.format !== 'csv') throw new CliError('--csv-raw is for --format csv.', EXIT_USAGE);
  if (options.resume && !options.out) throw new CliError('--resume needs the --out of the interrupted export.', EXIT_USAGE);
  checkPace(options.perSecond, options.perMinute);
  serverAddress('--url', options.url);
  checkDays(options.from, options.to);
  if (options.out !== undefined) checkOut(options.format as Format, options.out);
  return { format: options.format as Format, timeAxis: options.timeAxis as TimeAxis, token };
}

/**
 * Where the export goes, checked before anything is asked of the server: JSON and NDJSON a file,
 * CSV a folder, somewhere this process may write. Nothing is made here: the folders (the CSV
 * folder itself too) are made with the first file the export writes, so a refused export leaves
 * no empty folder behind.
 */
function checkOut(format: Format, out: string): void {
  const kind = fs.statSync(out, { throwIfNoEntry: false });
  if (format === 'csv' && kind && !kind.isDirectory())
    throw new CliError(`--out ${out} is a file: --format csv writes a folder of tables.`, EXIT_USAGE);
  if (format !== 'csv' && kind?.isDirectory())
    throw new CliError(
      `--out ${out} is a folder: --format ${format} writes one file (name it, such as ${path.join(out, `sessions.${format}`)}).`,
      EXIT_USAGE,
    );
  const folder = format === 'csv' ? path.resolve(out) : path.dirname(path.resolve(out));
  try {
    fs.accessSync(nearestExisting(folder), fs.constants.W_OK);
  } catch (error) {
    throw new CliError(`Cannot write to --out ${out}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`, EXIT_USAGE);
  }
}

/** The folder itself if it exists, else the nearest one above it that does; a file on the way is ENOTDIR. */
function nearestExisting(folder: string): string {
  for (let at = folder; ; at = path.dirname(at)) {
    const kind = fs.statSync(at, { throwIfNoEntry: false });
    if (kind?.isDirectory()) return at;
    if (kind) throw Object.assign(new Error(`${at} is not a folder`), { code: 'ENOTDIR' });
    if (path.dirname(at) === at) return at;
  }
}

export function exportCommand(program: Command): void {
  program
    .command('export')
    .description('export any range of days through the Coaching Export API, paced to its limits')
    .requiredOption('--from <day>', 'first day, YYYY-MM-DD (UTC, inclusive)')
    .requiredOption('--to <day>', 'last day, YYYY-MM-DD (UTC, inclusive)')
    .option('--url <url>', 'the server', 'http://127.0.0.1:3000')
    .option('--token <token>', 'API token (default: $COACHPORT_TOKEN)')
    .option('--time-axis <axis>', 'meetingDate or createdAt', 'createdAt')
    .option('--format <format>', 'json, ndjson or csv', 'json')
    .option('--out <path>', 'file (json, ndjson; default stdout) or folder (csv)')
    .option(
      '--csv-raw',
      "csv: every cell exactly, for loading into a database (default: a text cell that starts a formula gets a leading ')",
    )
    .option('--resume', 'continue an interrupted export into the same --out')
    .option('--gzip', 'ask for the export gzipped (the default, except from a server on this machine)')
    .option('--no-gzip', 'ask for the export plain: faster on a fast local network')
    .option('--per-second <n>', "the server's export limit per second", '1')
    .option('--per-minute <n>', "the server's export limit per minute", '30')
    .action(async (options: Options) => {
      const { format, timeAxis, token } = validate(options);
      const range = { from: options.from, to: options.to, timeAxis };
      const csvRaw = options.csvRaw === true;
      const total = planWindows(range.from, range.to).length;
      // Its full path: the files' offsets are kept by it, however --out is spelt the next time.
      const out = options.out === undefined ? undefined : path.resolve(options.out);
      const stateAt = out ? stateFile(format, out) : null;
      const server = keptServer(options.url);
      const previous = options.resume && stateAt ? readState(stateAt, { url: server, ...range, format, csvRaw }) : null;
      if (options.resume && !previous) throw new CliError(`--resume: no interrupted export found for ${options.out}.`, EXIT_USAGE);
      if (previous) checkResumable(previous.offsets, format === 'csv' ? CsvWriter.files(out!) : [out!]);
      const writer = openWriter(format, out, previous?.offsets ?? null, csvRaw);
      const json = program.opts<{ json?: boolean }>().json === true;
      const progress = new Progress(total, { json });
      const controller = new AbortController();
      const interrupt = () => controller.abort(new Error('interrupted'));
      process.once('SIGINT', interrupt);
      process.once('SIGTERM', interrupt);

      // Standard output takes each window from a spool file once it is complete. The folder is this
      // command's, removed at any exit: a reader that goes away (`| head`) ends the process at once.
      const spoolDir = options.out ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), 'coachport-export-'));
      const dropSpool = () => spoolDir && fs.rmSync(spoolDir, { recursive: true, force: true });
      process.once('exit', dropSpool);

      const client = new ExportClient({
        spoolDir,
        baseUrl: options.url,
        token,
        perSecond: Number(options.perSecond),
        perMinute: Number(options.perMinute),
        gzip: options.gzip,
        signal: controller.signal,
        onEvent: (event) => progress.clientEvent(event),
      });
      let windowsDone = previous?.windowsDone ?? 0;
      let sessions = 0;
      try {
        for await (const completed of windowsOf(client, range, writer, windowsDone)) {
          const offsets = writer.commit();
          windowsDone = completed.index + 1;
          sessions += completed.count;
          if (stateAt) writeState(stateAt, { url: server, ...range, format, csvRaw, windowsDone, offsets });
          progress.windowDone(completed.window, completed.count, completed.index);
        }
        writer.finish({ interrupted: false });
        if (stateAt) fs.rmSync(stateAt, { force: true });
        progress.end();
        // What other commands print under --json; where stdout is the export itself, nothing is added to it.
        if (options.out && json) {
          const exported = { sessions, windows: total, resumedAfter: previous?.windowsDone ?? 0, format, out: options.out };
          process.stdout.write(`${JSON.stringify({ exported })}\n`);
        }
      } catch (error) {
        writer.finish({ interrupted: true });
        progress.end();
        if (controller.signal.aborted) {
          throw new CliError(
            `Interrupted after ${windowsDone} of ${total} windows; the files hold those windows completely.` +
              // Only a state this export wrote or continued: another export's, left in the same --out, is not its to offer.
              (stateAt && (previous !== null || windowsDone > 0) && fs.existsSync(stateAt)
                ? ' Run the same command with --resume to continue.'
                : ''),
            EXIT_INTERRUPTED,
          );
        }
        const resume = stateAt && windowsDone > 0 ? ` ${windowsDone} of ${total} windows were saved; --resume continues.` : '';
        if (error instanceof ExportApiError) {
          const code = error.kind === 'auth' ? EXIT_AUTH : error.kind === 'bad_request' ? EXIT_USAGE : EXIT_SERVER;
          throw new CliError(`${error.message}${resume}`, code);
        }
        if (error instanceof OutputError) throw new CliError(`${error.message}${resume}`, EXIT_OUTPUT);
        throw error;
      } finally {
        process.removeListener('SIGINT', interrupt);
        process.removeListener('SIGTERM', interrupt);
        process.removeListener('exit', dropSpool);
        dropSpool();
      }
    });
}
