import { render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, listCertificates, remove, renew, revoke, SIGN_IN_URL, storedKey, storeKey, takeKeyFromFragment, type CertificateRow, type StatusLinks } from './api';
import { CertificateTable } from './CertificateTable';
import { ConfirmDialog } from './ConfirmDialog';
import { IssueForm } from './IssueForm';
import { Operation, type OperationRef } from './Operation';
import type { ChallengeType } from './steps';
import { replacesCertificate, RevocationReasonNames, type RevocationReason } from '../src/domain/revocation';

const REFRESH_MS = 30_000;

type Pending = { kind: 'renew' | 'revoke' | 'remove'; row: CertificateRow };

const DIALOG = {
  renew: { title: (hostname: string) => `Renew ${hostname} now?`, confirm: 'Renew now' },
  revoke: { title: (hostname: string) => `Revoke ${hostname}?`, confirm: 'Revoke' },
  remove: { title: (hostname: string) => `Remove ${hostname}?`, confirm: 'Remove' },
} as const;

/** What each reason is for (Let's Encrypt's revoking page), and what the app does besides revoking. */
const REASON_TEXT: Record<RevocationReason, string> = {
  unspecified: 'unspecified: none of the others applies. Revokes only.',
  keyCompromise: 'keyCompromise: the private key may be known to someone else. Revokes, then replaces it with a new key on the gateway.',
  superseded: 'superseded: a new certificate replaces it. Revokes, then issues that replacement (new key) and binds it.',
  cessationOfOperation: 'cessationOfOperation: the site is being retired or the names are no longer yours. Revokes only.',
};

function AccessPanel({ onChange, needed }: { onChange: () => void; needed: boolean }) {
  const [key, setKey] = useState(storedKey());
  return (
    <details class="access" open={needed}>
      <summary>API access</summary>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          storeKey(key.trim());
          onChange();
        }}
      >
        <label for="function-key">Function key</label>
        <input id="function-key" type="password" autocomplete="off" value={key} onInput={(event) => setKey((event.target as HTMLInputElement).value)} aria-describedby="function-key-hint" />
        <button type="submit">Use this key</button>
        <p id="function-key-hint" class="hint">
          For local use; kept in this tab only. Behind App Service Authentication you are signed in already and need none.
        </p>
      </form>
    </details>
  );
}

function App() {
  const [rows, setRows] = useState<CertificateRow[]>([]);
  const [listError, setListError] = useState<ApiError | undefined>();
  const [loaded, setLoaded] = useState(false);
  const [operations, setOperations] = useState<OperationRef[]>([]);
  const [pending, setPending] = useState<Pending | undefined>();
  const [purge, setPurge] = useState(false);
  const [reason, setReason] = useState<RevocationReason>('keyCompromise');
  const [actionError, setActionError] = useState<string | undefined>();

  const refresh = useCallback(async () => {
    try {
      setRows(await listCertificates());
      setListError(undefined);
    } catch (error) {
      setListError(error instanceof ApiError ? error : new ApiError(0, 'Error', 'The list could not be read.'));
    } finally {
      setLoaded(true);
    }
  }, []);

  useEffect(() => {
    void refresh();
    const timer = window.setInterval(() => {
      if (document.visibilityState === 'visible') void refresh();
    }, REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [refresh]);

  // A hostname's runs share one instance id (and status link): each run followed gets its own panel
  // key, so a renewal never shows the issuance it follows; an older panel of that id is dropped.
  const runs = useRef(0);
  const follow = (title: string, links: StatusLinks, challengeType?: ChallengeType): void => {
    runs.current += 1;
    const key = `run-${runs.current}`;
    setOperations((previous) => [{ key, instanceId: links.id, title, statusQueryGetUri: links.statusQueryGetUri, challengeType }, ...previous.filter((o) => o.instanceId !== links.id)]);
  };

  const confirm = async (): Promise<void> => {
    if (!pending) return;
    const { kind, row } = pending;
    setPending(undefined);
    setActionError(undefined);
    try {
      if (kind === 'renew') follow(`Renew ${row.hostname}`, await renew(row.hostname), row.hostnames.length === 1 ? (row.challengeType ?? 'http-01') : undefined);
      else if (kind === 'revoke') follow(`Revoke ${row.hostname} (${reason})`, await revoke(row.hostname, reason));
      else follow(`Remove ${row.hostname}`, await remove(row.hostname, purge));
    } catch (error) {
      setActionError(error instanceof ApiError ? `${error.title}: ${error.detail}` : 'The request could not be sent.');
    }
  };

  return (
    <>
      <header class="masthead">
        <h1>appgw-certbot</h1>
        <p class="hint">Free, automatically renewed certificates for Application Gateway</p>
        <AccessPanel needed={listError?.status === 401 && !listError.signInNeeded} onChange={() => void refresh()} />
      </header>
      <main>
        <IssueForm onStarted={follow} />
        {operations.length > 0 && (
          <section aria-labelledby="operations-heading" class="operations">
            <h2 id="operations-heading">Runs</h2>
            {operations.map((operation) => (
              <Operation key={operation.key} operation={operation} onFinished={() => void refresh()} onDismiss={() => setOperations((previous) => previous.filter((o) => o.key !== operation.key))} />
            ))}
          </section>
        )}
        <section aria-labelledby="certificates-heading">
          <div class="section-head">
            <h2 id="certificates-heading">Certificates</h2>
            <button type="button" onClick={() => void refresh()}>
              Refresh
            </button>
          </div>
          {actionError && (
            <p class="error" role="alert">
              {actionError}
            </p>
          )}
          {listError && (
            <p class="error" role="alert" data-testid="list-error">
              {listError.title}: {listError.detail} {listError.signInNeeded && <a href={SIGN_IN_URL}>Sign in</a>}
            </p>
          )}
          {/* Rows already shown stay (with the error above) when a refresh fails; none are made up. */}
          {loaded && (!listError || rows.length > 0) ? (
            <CertificateTable
              rows={rows}
              onRenew={(row) => setPending({ kind: 'renew', row })}
              onRevoke={(row) => {
                setReason('keyCompromise');
                setPending({ kind: 'revoke', row });
              }}
              onRemove={(row) => {
                setPurge(false);
                setPending({ kind: 'remove', row });
              }}
            />
          ) : (
            !loaded && <p>Loading…</p>
          )}
        </section>
      </main>
      {pending && (
        <ConfirmDialog
          title={DIALOG[pending.kind].title(pending.row.hostname)}
          confirmLabel={DIALOG[pending.kind].confirm}
          onConfirm={() => void confirm()}
          onCancel={() => setPending(undefined)}
        >
          {pending.kind === 'renew' ? (
            <p>A new certificate is requested from the CA for {pending.row.hostnames.join(', ')} and bound to the gateway.</p>
          ) : pending.kind === 'revoke' ? (
            <>
              <p>The CA revokes the current certificate for {pending.row.hostnames.join(', ')}; this cannot be undone.</p>
              <label for="revoke-reason">Reason</label>
              <select id="revoke-reason" value={reason} onChange={(event) => setReason((event.target as HTMLSelectElement).value as RevocationReason)} aria-describedby="revoke-reason-hint">
                {RevocationReasonNames.map((name) => (
                  <option key={name} value={name}>
                    {name}
                  </option>
                ))}
              </select>
              <p id="revoke-reason-hint" class="hint">
                {REASON_TEXT[reason]}
                {!replacesCertificate(reason) && ' The gateway keeps serving the revoked certificate until it is renewed or removed.'}
              </p>
            </>
          ) : (
            <>
              <p>The HTTPS listener and routing rule for {pending.row.hostnames.join(', ')} leave the gateway, and the certificate is deleted from Key Vault (recoverable while soft-deleted).</p>
              <label class="checkbox">
                <input type="checkbox" checked={purge} onChange={(event) => setPurge((event.target as HTMLInputElement).checked)} /> Also purge it from Key Vault (not recoverable)
              </label>
            </>
          )}
        </ConfirmDialog>
      )}
    </>
  );
}

takeKeyFromFragment();
const root = document.getElementById('app')!;
// The page's "Loading…" placeholder goes: render() adds to what the element holds.
root.replaceChildren();
render(<App />, root);
