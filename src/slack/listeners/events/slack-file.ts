import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { WebClient } from '@slack/web-api';
import { z } from 'zod';
import { UserError } from '../../../util/index.js';

/** The fields of a files.info answer billops relies on. */
export const slackFileSchema = z.object({
  id: z.string(),
  name: z.string().min(1),
  filetype: z.string().optional(),
  mimetype: z.string().optional(),
  size: z.number().optional(),
  url_private: z.url(),
  url_private_download: z.url().optional(),
});

export type SlackFile = z.infer<typeof slackFileSchema>;

/** Metadata of a shared file (the event's own copy may be partial: `file_access: check_file_info`). */
export async function slackFileInfo(client: WebClient, fileId: string): Promise<SlackFile> {
  const res = await client.files.info({ file: fileId });
  const parsed = slackFileSchema.safeParse(res.file);
  if (!parsed.success) throw new Error(`files.info for ${fileId} did not return a downloadable file (${parsed.error.issues[0]?.message ?? 'unknown shape'})`);
  return parsed.data;
}

const CSV_NAME = /\.(csv|tsv)$/i;

export function isCsvFile(f: SlackFile): boolean {
  return f.filetype === 'csv' || f.filetype === 'tsv' || f.mimetype === 'text/csv' || CSV_NAME.test(f.name);
}

/**
 * The bot token goes only to Slack: `*.slack.com` over HTTPS, or the host the Web API client is
 * pointed at (a proxy, or a local stand-in in tests).
 */
function mayReceiveToken(url: URL, apiUrl: string): boolean {
  if (url.protocol === 'https:' && (url.hostname === 'slack.com' || url.hostname.endsWith('.slack.com'))) return true;
  try {
    return url.host === new URL(apiUrl).host;
  } catch {
    return false;
  }
}

const HTML_START = /^\s*<(?:!doctype\s+html|html)[\s>]/i;

/**
 * The file's bytes, streamed: GET `url_private_download` (or `url_private`) with the bot token as a
 * Bearer header. Slack answers a request it will not authorise with its HTML sign-in page and a 200,
 * so HTML is refused here, by content type and by the first bytes, rather than parsed as a CSV.
 */
export async function downloadSlackFile(file: SlackFile, token: string, apiUrl: string): Promise<Readable> {
  const url = new URL(file.url_private_download ?? file.url_private);
  if (!mayReceiveToken(url, apiUrl)) throw new Error(`refusing to send the bot token to ${url.host} (file ${file.id} is not on Slack)`);
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  const signIn = new UserError(
    `Slack sent its sign-in page instead of ${file.name}, so billops may not read this file. ` +
      'The app needs the files:read scope (reinstall it after adding the scope) and must be in this channel.',
  );
  if (!res.ok || res.body === null) {
    await res.body?.cancel();
    throw new UserError(`Slack answered HTTP ${res.status} when billops downloaded ${file.name}. Share the file again in a minute.`);
  }
  if ((res.headers.get('content-type') ?? '').toLowerCase().startsWith('text/html')) {
    await res.body.cancel();
    throw signIn;
  }
  const body = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
  async function* checked(): AsyncGenerator<Buffer> {
    let first = true;
    try {
      for await (const chunk of body) {
        const buf = chunk as Buffer;
        if (first) {
          first = false;
          if (HTML_START.test(buf.subarray(0, 256).toString('latin1'))) throw signIn;
        }
        yield buf;
      }
    } finally {
      body.destroy();
    }
  }
  return Readable.from(checked(), { objectMode: false });
}
