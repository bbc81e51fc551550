import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import type { Config } from '../../config/index.js';
import type { Db } from '../../db/index.js';
import { EXPORT_FORMATS, EXPORT_KINDS, type ExportFormat, type ExportKind, type ExportResult, type ExportSink, writeExport } from '../../matching/index.js';
import { UserError } from '../../util/index.js';
import { out as defaultOut } from '../output.js';
import { type CliOut, openCliDatabase } from './reconcile.js';
import type { CliCommand } from './types.js';

const USAGE = 'billops export matches|exceptions|audit [--format csv|json] [--out FILE] [--from YYYY-MM-DD] [--to YYYY-MM-DD]';

export interface ExportCliDeps {
  db: Db;
  config: Config;
  out?: CliOut;
  /** Where the export goes without `--out` (stdout by default). */
  stdout?: ExportSink;
}

/**
 * `billops export …` with its dependencies given. With `--out` the file is written next to its final
 * name and renamed into place when complete, so a reader never sees half an export; without it the
 * rows go to stdout and the one-line summary to stderr.
 */
export async function exportFromCli(argv: string[], deps: ExportCliDeps): Promise<ExportResult & { file: string | null }> {
  const out = deps.out ?? defaultOut;
  const { values, positionals } = parseArgs({
    args: argv,
    options: { format: { type: 'string', default: 'csv' }, out: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) {
    throw new UserError(`${positionals.length === 0 ? 'Say what to export' : 'Export one thing at a time'} (${EXPORT_KINDS.join(', ')}).\nUsage: ${USAGE}`);
  }
  const kind = positionals[0] as ExportKind;
  if (!EXPORT_KINDS.includes(kind)) throw new UserError(`Cannot export "${kind}" (expected ${EXPORT_KINDS.join(', ')}).\nUsage: ${USAGE}`);
  const format = values.format as ExportFormat;
  if (!EXPORT_FORMATS.includes(format)) throw new UserError(`--format ${format} is not a format billops writes (expected csv or json).\nUsage: ${USAGE}`);
  const opts = { kind, format, from: values.from, to: values.to, timezone: deps.config.file.org.timezone };

  if (!values.out) {
    const sink = deps.stdout ?? (process.stdout as unknown as ExportSink);
    const res = await writeExport(deps.db.db, sink, opts);
    out.error(`Exported ${res.rows} ${kind} row${res.rows === 1 ? '' : 's'} (${format}).`);
    return { ...res, file: null };
  }
  const file = path.resolve(values.out);
  const partial = `${file}.partial-${process.pid}`;
  const stream = createWriteStream(partial, { encoding: 'utf8' });
  // a write error surfaces through `stream.errored` / `finished`, never as an unhandled 'error' event
  stream.on('error', () => undefined);
  let res: ExportResult;
  try {
    await new Promise<void>((resolve, reject) => {
      stream.once('ready', () => resolve());
      stream.once('error', reject);
    });
    res = await writeExport(deps.db.db, stream, opts);
    stream.end();
    await finished(stream);
    await rename(partial, file);
  } catch (err) {
    stream.destroy();
    await rm(partial, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'ENOSPC' || code === 'EISDIR' || code === 'EROFS') {
      throw new UserError(`Cannot write ${values.out}: ${code === 'ENOENT' ? 'its folder does not exist' : (err as Error).message}.`);
    }
    throw err;
  }
  out.line(`Wrote ${res.rows} ${kind} row${res.rows === 1 ? '' : 's'} to ${values.out} (${format}).`);
  return { ...res, file };
}

export const exportCommands: CliCommand[] = [
  {
    name: 'export',
    usage: USAGE,
    summary: 'export matches, exceptions or the audit log as CSV or JSON (stable order: same data, same bytes)',
    async run(argv) {
      const { config, db } = await openCliDatabase();
      try {
        await exportFromCli(argv, { db, config });
      } finally {
        await db.close();
      }
    },
  },
];
