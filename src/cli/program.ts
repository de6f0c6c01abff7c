/**
 * The command line (commander): global connection options, one subcommand per operation, `--help`
 * for each, and every outcome mapped to an exit code (exitCodes.ts). The key and token are read
 * from flags or the environment and never shown, not even in `--help`.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { AppClient } from './api';
import * as commands from './commands';
import { CliError, EXIT_CODES_HELP, ExitCode, ExitCodeValue } from './exitCodes';
import { Output } from './output';
import { Redactor } from './redact';
import { RevocationReasonNames } from '../domain/revocation';

interface GlobalOptions {
  endpoint?: string;
  key?: string;
  token?: string;
  json?: boolean;
  requestTimeout: number;
}

const ENVIRONMENT_HELP = `Environment:
  APPGW_CERTBOT_ENDPOINT  the function app's address (as --endpoint)
  APPGW_CERTBOT_KEY       a function key, sent as x-functions-key (as --key)
  APPGW_CERTBOT_TOKEN     a bearer token for App Service Authentication (as --token)`;

function seconds(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new InvalidArgumentError('must be a number of seconds greater than 0.');
  return parsed;
}

/** Runs the CLI on `argv` (process.argv shape) and returns its exit code; never calls process.exit. */
export async function run(argv: string[]): Promise<ExitCodeValue> {
  let exitCode: ExitCodeValue = ExitCode.Done;
  // Until the options are read there is no secret to hide but any the environment holds.
  let redactor = new Redactor([process.env.APPGW_CERTBOT_KEY, process.env.APPGW_CERTBOT_TOKEN]);
  let json = argv.includes('--json');

  const program = new Command('appgw-certbot')
    .description('Operate an appgw-certbot function app: issue, list, renew, revoke and remove certificates, and follow operations.')
    .exitOverride()
    // Each command's --help shows the connection options too (settings are inherited by subcommands).
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({ outputError: (text, write) => write(redactor.text(text)) })
    .showHelpAfterError('(add --help for usage)')
    .addOption(new Option('--endpoint <url>', "the function app's address, e.g. https://<app>.azurewebsites.net or http://localhost:7071").env('APPGW_CERTBOT_ENDPOINT'))
    .addOption(new Option('--key <key>', 'a function key, sent as x-functions-key (never printed)').env('APPGW_CERTBOT_KEY'))
    .addOption(new Option('--token <token>', 'a bearer token for App Service Authentication / Entra ID (never printed)').env('APPGW_CERTBOT_TOKEN'))
    .option('--json', 'print one JSON document on stdout (no progress display)')
    .addOption(new Option('--request-timeout <seconds>', 'time limit of each HTTP request').argParser(seconds).default(30))
    .addHelpText('after', `\n${ENVIRONMENT_HELP}\n\n${EXIT_CODES_HELP}`);

  /** The session a command runs in, built from the global options (flags first, then environment). */
  const session = (command: Command): commands.Session => {
    const options = command.optsWithGlobals<GlobalOptions>();
    redactor = new Redactor([options.key, options.token, process.env.APPGW_CERTBOT_KEY, process.env.APPGW_CERTBOT_TOKEN]);
    json = !!options.json;
    if (!options.endpoint) throw new CliError(ExitCode.BadInput, 'No endpoint: give --endpoint <url> or set APPGW_CERTBOT_ENDPOINT.');
    const client = new AppClient({ endpoint: options.endpoint, key: options.key, token: options.token, requestTimeoutMs: options.requestTimeout * 1000 });
    return { client, out: new Output(redactor, json), redactor };
  };

  const waitOptions = (command: Command): Command =>
    command
      .option('--no-wait', 'return right after the app accepted the request, with the instance id and its links')
      .addOption(new Option('--timeout <seconds>', 'how long to wait for the operation to end').argParser(seconds).default(3600))
      .addOption(new Option('--interval <seconds>', 'how often to ask for its status').argParser(seconds).default(2))
      .addHelpText('after', `\n${EXIT_CODES_HELP}`);

  waitOptions(
    program
      .command('issue')
      .description('issue certificates: one per hostname, or one for all with --together; shows each certificate\'s step while it waits')
      .argument('<hostnames...>', 'the names to issue for (a wildcard *.example.com needs --challenge dns-01)')
      .addOption(new Option('--challenge <type>', 'how ownership is proven (default: the app\'s AcmeChallengeType)').choices(['http-01', 'dns-01']))
      .option('--together', 'put every name into one certificate (at most 5; the first name is its identity)', false),
  ).action(async (hostnames: string[], options: commands.WaitFlags & { challenge?: string; together: boolean }, command: Command) => {
    exitCode = await commands.issue(session(command), hostnames, options);
  });

  program
    .command('list')
    .description('list the managed certificates: state, expiry, next renewal, gateway binding')
    .addHelpText('after', `\n${EXIT_CODES_HELP}`)
    .action(async (_options: object, command: Command) => {
      exitCode = await commands.list(session(command));
    });

  program
    .command('status')
    .description('show an operation\'s status: its step, runtime status, and a failure\'s code and detail')
    .argument('<instance>', 'the instance id a command printed (e.g. certificate-www.example.com or batch-<uuid>)')
    .addHelpText('after', `\n${EXIT_CODES_HELP}`)
    .action(async (instanceId: string, _options: object, command: Command) => {
      exitCode = await commands.status(session(command), instanceId);
    });

  waitOptions(
    program
      .command('renew')
      .description('renew a managed certificate now, for the same names and challenge type')
      .argument('<hostname>', 'the certificate\'s hostname (its first name)'),
  ).action(async (hostname: string, options: commands.WaitFlags, command: Command) => {
    exitCode = await commands.renew(session(command), hostname, options);
  });

  waitOptions(
    program
      .command('revoke')
      .description('revoke a certificate with the CA; keyCompromise and superseded also replace it with a new key on the gateway, the other reasons leave the revoked one served until it is renewed or removed')
      .argument('<hostname>', 'the certificate\'s hostname (its first name)')
      .addOption(new Option('--reason <reason>', 'the RFC 5280 reason').choices(RevocationReasonNames).makeOptionMandatory()),
  ).action(async (hostname: string, options: commands.WaitFlags & { reason: string }, command: Command) => {
    exitCode = await commands.revoke(session(command), hostname, options);
  });

  waitOptions(
    program
      .command('remove')
      .description('take a certificate off the gateway and delete it from Key Vault (soft delete unless --purge)')
      .argument('<hostname>', 'the certificate\'s hostname (its first name)')
      .option('--purge', 'purge it from Key Vault as well (refused by a vault with purge protection)', false),
  ).action(async (hostname: string, options: commands.WaitFlags & { purge: boolean }, command: Command) => {
    exitCode = await commands.remove(session(command), hostname, options);
  });

  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    return report(error, new Output(redactor, json));
  }
}

/** An error as its exit code, told on stderr (and with --json as the document on stdout). */
function report(error: unknown, out: Output): ExitCodeValue {
  if (error instanceof CommanderError) {
    // commander has printed the usage error or the help already.
    return ['commander.helpDisplayed', 'commander.version'].includes(error.code) ? ExitCode.Done : ExitCode.BadInput;
  }
  if (error instanceof CliError) {
    out.note(`error: ${error.message}`);
    for (const e of error.details.errors ?? []) out.note(`  ${e.field}: ${e.reason}`);
    out.document({ error: { exitCode: error.exitCode, message: error.message, ...(error.details.status ? { status: error.details.status } : {}), ...(error.details.body !== undefined ? { body: error.details.body } : {}) } });
    return error.exitCode;
  }
  out.note(`error: ${(error as Error)?.message ?? String(error)}`);
  out.document({ error: { exitCode: ExitCode.Failed, message: (error as Error)?.message ?? String(error) } });
  return ExitCode.Failed;
}
