/** The CLI's only way to talk to a person: plain lines on stdout / stderr (logs go through pino). */
export const out = {
  line(text = ''): void {
    process.stdout.write(`${text}\n`);
  },
  error(text: string): void {
    process.stderr.write(`${text}\n`);
  },
};
