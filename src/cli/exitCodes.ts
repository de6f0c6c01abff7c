/**
 * The CLI's exit codes, one meaning each, so a script can tell what to do next: retry later (3),
 * fix the command (2), look at the failure (1), or check again later (4).
 */
export const ExitCode = {
  /** The operation finished as asked (Completed), or the answer was read (list, status). */
  Done: 0,
  /** The operation failed (a Failed or Terminated run), or the app refused it for a reason other than the input: not managed (404), busy (409), a dependency refused (502). */
  Failed: 1,
  /** Bad input: a usage error, the app's 400 (its fields and reasons are printed), or a key or token it refused (401, 403). */
  BadInput: 2,
  /** The app could not be reached: connection refused, DNS, a request timing out, or 429/503/504 (retry later). */
  Unreachable: 3,
  /** `--timeout` passed while the operation was still running (it goes on; check it with `status`). */
  StillRunning: 4,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** A failure the CLI reports and exits with: a one-line message, and the problem body's details where there is one. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCodeValue,
    message: string,
    readonly details: { status?: number; title?: string; errors?: { field: string; reason: string }[]; body?: unknown } = {},
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** The exit code an HTTP answer that is not a success stands for (see ExitCode). */
export function exitCodeForStatus(status: number): ExitCodeValue {
  if (status === 400 || status === 401 || status === 403) return ExitCode.BadInput;
  // 429 (throttled by the platform or a front end) is a retry-later, like 503.
  if (status === 429 || status === 503 || status === 504) return ExitCode.Unreachable;
  return ExitCode.Failed;
}

/** The `--help` text's summary of the codes. */
export const EXIT_CODES_HELP = `Exit codes:
  0  done (the operation Completed; a list or status was read; --no-wait: accepted)
  1  failed (the run Failed or was Terminated; 404 not managed, 409 busy, 502 a dependency refused)
  2  bad input (usage error; the app's 400, whose fields and reasons are printed; 401/403 key or token refused)
  3  unreachable (connection refused, DNS, request timeout; 429/503/504: retry later)
  4  still running when --timeout passed (the operation goes on; see \`status <instance>\`)`;
