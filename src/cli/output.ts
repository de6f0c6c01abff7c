/** Where the CLI writes: text lines, or with `--json` one JSON document on stdout; both redacted (redact.ts). */
import type { Redactor } from './redact';

export class Output {
  constructor(
    private readonly redactor: Redactor,
    readonly json: boolean,
  ) {}

  /** A line of the text output (nothing with --json: stdout holds the document only). */
  line(text: string): void {
    if (!this.json) process.stdout.write(`${this.redactor.text(text)}\n`);
  }

  /** A message for the person at the terminal (stderr, in both modes). */
  note(text: string): void {
    process.stderr.write(`${this.redactor.text(text)}\n`);
  }

  /** The one JSON document of `--json` (nothing without it). */
  document(value: unknown): void {
    if (this.json) process.stdout.write(`${JSON.stringify(this.redactor.value(value), null, 2)}\n`);
  }
}
