export interface CliCommand {
  /** First word(s) after `billops`, e.g. `migrate`, `import gl`. */
  name: string;
  usage: string;
  summary: string;
  run(argv: string[]): Promise<void>;
}
