import { parseArgs } from 'node:util';

/**
 * The command line of a tool that takes no flag but `--help`: true when `--help` was given (the usage is
 * then printed on stdout, and the tool does nothing else), false when nothing was.
 * @throws TypeError naming any other flag or argument, before the tool does anything.
 */
export function answeredHelp(usage: string, argv: string[] = process.argv.slice(2)): boolean {
  const { values } = parseArgs({
    args: argv,
    options: { help: { type: 'boolean', default: false } },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) process.stdout.write(`${usage}\n`);
  return values.help;
}
