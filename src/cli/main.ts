import { ConfigError } from '../config/index.js';
import { isUserError, newErrorId } from '../util/index.js';
import { type CliCommand, allCommands } from './commands/index.js';
import { out } from './output.js';

function usage(): string {
  const width = Math.max(...allCommands.map((c) => c.usage.length));
  return ['Usage:', ...allCommands.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`)].join('\n');
}

/** Longest command name that prefixes the arguments: `import gl x.csv` → `import gl`. */
function findCommand(argv: string[]): { cmd: CliCommand; rest: string[] } | undefined {
  let best: { cmd: CliCommand; rest: string[] } | undefined;
  for (const cmd of allCommands) {
    const words = cmd.name.split(' ');
    if (words.every((w, i) => argv[i] === w) && (!best || words.length > best.cmd.name.split(' ').length)) {
      best = { cmd, rest: argv.slice(words.length) };
    }
  }
  return best;
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || ['help', '--help', '-h'].includes(argv[0] ?? '')) {
    out.line(usage());
    return 0;
  }
  const found = findCommand(argv);
  if (!found) {
    out.error(`billops: unknown command "${argv.join(' ')}"\n${usage()}`);
    return 2;
  }
  const { cmd, rest } = found;
  try {
    await cmd.run(rest);
    return 0;
  } catch (err) {
    if (err instanceof ConfigError || isUserError(err)) {
      out.error(`billops ${cmd.name}: ${(err as Error).message}`);
      return 2;
    }
    if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      out.error(`billops ${cmd.name}: ${(err as Error).message}\nUsage: ${cmd.usage}`);
      return 2;
    }
    const id = newErrorId();
    out.error(`billops ${cmd.name} failed (error id ${id}): ${(err as Error).message}`);
    if (process.env.LOG_LEVEL === 'debug') out.error((err as Error).stack ?? '');
    return 1;
  }
}

const code = await main(process.argv.slice(2));
process.exitCode = code;
