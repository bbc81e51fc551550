import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Kysely } from 'kysely';
import { type Database, migrationStatus, ping } from '../db/index.js';
import type { Logger } from '../util/index.js';
import type { Metrics } from './metrics.js';

export interface HttpRoute {
  path: string;
  method: 'GET' | 'POST';
  handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Read a request body as raw bytes (webhook signatures are computed over exactly these). */
export async function readRawBody(req: IncomingMessage, limitBytes = 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limitBytes) throw Object.assign(new Error('request body too large'), { statusCode: 413 });
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

export function healthRoutes(db: Kysely<Database>, metrics: Metrics): HttpRoute[] {
  return [
    {
      path: '/healthz',
      method: 'GET',
      handler: (_req, res) => sendJson(res, 200, { status: 'ok' }),
    },
    {
      path: '/readyz',
      method: 'GET',
      handler: async (_req, res) => {
        if (!(await ping(db))) {
          sendJson(res, 503, { status: 'unavailable', database: 'unreachable' });
          return;
        }
        try {
          const status = await migrationStatus(db);
          if (status.pending.length > 0) {
            sendJson(res, 503, { status: 'unavailable', database: 'ok', pendingMigrations: status.pending });
            return;
          }
          sendJson(res, 200, { status: 'ready', database: 'ok', migrations: status.applied.length });
        } catch {
          sendJson(res, 503, { status: 'unavailable', database: 'error' });
        }
      },
    },
    {
      path: '/metrics',
      method: 'GET',
      handler: async (_req, res) => {
        const text = await metrics.registry.metrics();
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(text);
      },
    },
  ];
}

/** Wrap a route with timing, a metrics label and a last-resort 500 that never leaks internals. */
export function instrument(route: HttpRoute, metrics: Metrics, logger: Logger): HttpRoute {
  return {
    ...route,
    handler: async (req, res) => {
      const end = metrics.httpDuration.startTimer({ route: route.path });
      try {
        await route.handler(req, res);
      } catch (err) {
        const status = (err as { statusCode?: number }).statusCode ?? 500;
        logger.error({ err, route: route.path }, 'http route failed');
        if (!res.headersSent) sendJson(res, status, { error: status === 413 ? 'payload too large' : 'internal error' });
      } finally {
        end();
        metrics.httpRequests.inc({ route: route.path, status: String(res.statusCode) });
      }
    },
  };
}
