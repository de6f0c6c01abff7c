import { render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, listCertificates, remove, renew, SIGN_IN_URL, storedKey, storeKey, takeKeyFromFragment, type CertificateRow, type StatusLinks } from './api';
import { CertificateTable } from './CertificateTable';
import { ConfirmDialog } from './ConfirmDialog';
import { IssueForm } from './IssueForm';
import { Operation, type OperationRef } from './Operation';
import type { ChallengeType } from './steps';

const REFRESH_MS = 30_000;

type Pending = { kind: 'renew' | 'remove'; row: CertificateRow };

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
      const links = kind === 'renew' ? await renew(row.hostname) : await remove(row.hostname, purge);
      if (kind === 'renew') follow(`Renew ${row.hostname}`, links, row.hostnames.length === 1 ? (row.challengeType ?? 'http-01') : undefined);
      else follow(`Remove ${row.hostname}`, links);
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
          title={pending.kind === 'renew' ? `Renew ${pending.row.hostname} now?` : `Remove ${pending.row.hostname}?`}
          confirmLabel={pending.kind === 'renew' ? 'Renew now' : 'Remove'}
          onConfirm={() => void confirm()}
          onCancel={() => setPending(undefined)}
        >
          {pending.kind === 'renew' ? (
            <p>A new certificate is requested from the CA for {pending.row.hostnames.join(', ')} and bound to the gateway.</p>
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
