import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ValidationError } from '../util/index.js';
import { type Env, envSchema, readProcessEnv } from './env.js';
import { type BillopsFile, billopsFileSchema } from './schema.js';

export interface Config {
  env: Env;
  file: BillopsFile;
  /** Where the billops.yml came from, or null when defaults are used. */
  filePath: string | null;
}

export class ConfigError extends ValidationError {
  override readonly name: string = 'ConfigError';
}

function describeIssues(where: string, issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue) => {
    const key = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => `${where}: ${key ? `${key}.` : ''}${k}: unknown key (check the spelling against the README's configuration reference)`);
    }
    return [key ? `${where}: ${key}: ${issue.message}` : `${where}: ${issue.message}`];
  });
}

export function parseEnv(raw: Record<string, string | undefined>): Env {
  // Empty strings in a .env file or a manifest mean "unset", not "the empty value".
  const cleaned = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined && v !== ''));
  const res = envSchema.safeParse(cleaned);
  if (!res.success) throw new ConfigError('Invalid environment:', describeIssues('env', res.error.issues));
  return res.data;
}

/** Parse billops.yml text; every problem is reported with the file name and the key's path. */
export function parseBillopsYaml(text: string, fileName = 'billops.yml'): BillopsFile {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      `${fileName} is not valid YAML:`,
      doc.errors.map((e) => `${fileName}: ${e.message.split('\n')[0] ?? e.message}`),
    );
  }
  const data: unknown = doc.toJS() ?? {};
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ConfigError(`${fileName} is invalid:`, [`${fileName}: the top level must be a mapping of sections (org, slack, roles, …)`]);
  }
  const res = billopsFileSchema.safeParse(data);
  if (!res.success) throw new ConfigError(`${fileName} is invalid:`, describeIssues(fileName, res.error.issues));
  return res.data;
}

export function loadConfig(rawEnv: Record<string, string | undefined> = readProcessEnv()): Config {
  const env = parseEnv(rawEnv);
  const explicit = env.BILLOPS_CONFIG;
  const filePath = path.resolve(explicit ?? 'billops.yml');
  if (!existsSync(filePath)) {
    if (explicit) throw new ConfigError('Invalid environment:', [`env: BILLOPS_CONFIG: file ${filePath} does not exist`]);
    return { env, file: billopsFileSchema.parse({}), filePath: null };
  }
  const file = parseBillopsYaml(readFileSync(filePath, 'utf8'), path.basename(filePath));
  return { env, file, filePath };
}

export function defaultBillopsFile(): BillopsFile {
  return billopsFileSchema.parse({});
}
