/**
 * `npm run bench -- <name> [args]`: runs bench/<name>.ts. Each benchmark prints its figures and the
 * same-run baseline it is compared against, so a noisy machine still gives an honest ratio.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !['run.ts', 'lib.ts'].includes(f) && !f.endsWith('.d.ts'))
  .map((f) => f.replace(/\.ts$/, ''));

const [name, ...args] = process.argv.slice(2);
if (!name || !available.includes(name)) {
  process.stderr.write(`Usage: npm run bench -- <name> [args]\nBenchmarks: ${available.join(', ') || '(none yet)'}\n`);
  process.exit(name ? 2 : 0);
}
const mod = (await import(pathToFileURL(path.join(here, `${name}.ts`)).href)) as { run: (args: string[]) => Promise<void> };
await mod.run(args);
