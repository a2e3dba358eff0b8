/**
 * Progress lines on stderr, so that the tables on stdout stay clean when piped. On a terminal a
 * running counter rewrites its own line; elsewhere only every `step`-th update is printed.
 */
export type Progress = {
  /** A line that stays. */
  note(message: string): void;
  /** A counter that updates in place (`label: done/total`). */
  count(label: string, done: number, total: number): void;
};

export function stderrProgress(): Progress {
  const tty = process.stderr.isTTY === true;
  let lastLabel = '';
  let lastPrinted = 0;
  const started = Date.now();
  const stamp = () => `[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s]`;
  return {
    note(message) {
      if (tty && lastLabel !== '') process.stderr.write('\n');
      lastLabel = '';
      process.stderr.write(`${stamp()} ${message}\n`);
    },
    count(label, done, total) {
      const line = `${stamp()} ${label}: ${done}/${total}`;
      if (tty) {
        process.stderr.write(`\r${line}`);
        lastLabel = label;
        if (done >= total) {
          process.stderr.write('\n');
          lastLabel = '';
        }
        return;
      }
      const now = Date.now();
      if (done >= total || label !== lastLabel || now - lastPrinted > 5000) {
        process.stderr.write(`${line}\n`);
        lastLabel = label;
        lastPrinted = now;
      }
    },
  };
}
