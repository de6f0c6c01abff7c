import { useMemo, useState } from 'preact/hooks';
import type { CertificateRow } from './api';
import { challengeText, day, daysLeftText, gatewayText } from './format';
import { FailureRecord } from './FailureRecord';

/** A self-signed stand-in (SelfSignedFallback) is on the listener until issuance succeeds. */
const SOURCE_LABELS: Record<CertificateRow['source'], string> = { acme: 'ACME', import: 'Imported', 'self-signed': 'Self-signed (stand-in)' };

type SortKey = 'hostname' | 'source' | 'challenge' | 'expires' | 'nextRenewal' | 'state';

const COLUMNS: { key: SortKey | null; label: string }[] = [
  { key: 'hostname', label: 'Hostnames' },
  { key: 'source', label: 'Source' },
  { key: 'challenge', label: 'Challenge' },
  { key: 'state', label: 'State' },
  { key: 'expires', label: 'Expires' },
  { key: 'nextRenewal', label: 'Next renewal' },
  { key: null, label: 'CA renewal window' },
  { key: null, label: 'Gateway' },
  { key: null, label: 'Last failure' },
  { key: null, label: 'Actions' },
];

function sortValue(row: CertificateRow, key: SortKey): string {
  switch (key) {
    case 'hostname':
      return row.hostname;
    case 'source':
      return row.source;
    case 'challenge':
      return challengeText(row.challengeType, row.source);
    case 'state':
      return row.state;
    case 'expires':
      return row.expiresOn ?? '\uffff';
    case 'nextRenewal':
      return row.nextRenewal ?? '\uffff';
  }
}

function matches(row: CertificateRow, filter: string): boolean {
  if (!filter) return true;
  const needle = filter.toLowerCase();
  return [...row.hostnames, row.hostname, row.state, row.source, row.challengeType ?? '', row.lastFailure?.code ?? ''].some((value) => value.toLowerCase().includes(needle));
}

/** The managed certificates: sortable by column, filtered by any name, state or failure code. */
export function CertificateTable(props: { rows: CertificateRow[]; onRenew: (row: CertificateRow) => void; onRevoke: (row: CertificateRow) => void; onRemove: (row: CertificateRow) => void }) {
  const [filter, setFilter] = useState('');
  const [sort, setSort] = useState<{ key: SortKey; ascending: boolean }>({ key: 'hostname', ascending: true });
  const rows = useMemo(() => {
    const shown = props.rows.filter((row) => matches(row, filter.trim()));
    return shown.sort((a, b) => sortValue(a, sort.key).localeCompare(sortValue(b, sort.key)) * (sort.ascending ? 1 : -1));
  }, [props.rows, filter, sort]);

  return (
    <div class="certificates">
      <div class="toolbar">
        <label for="filter">Filter</label>
        <input id="filter" type="search" value={filter} onInput={(event) => setFilter((event.target as HTMLInputElement).value)} placeholder="hostname, state or error code" />
        <span class="hint" role="status">
          {rows.length} of {props.rows.length} shown
        </span>
      </div>
      <table>
        <caption class="visually-hidden">Managed certificates</caption>
        <thead>
          <tr>
            {COLUMNS.map((column) => (
              <th key={column.label} scope="col" aria-sort={column.key && column.key === sort.key ? (sort.ascending ? 'ascending' : 'descending') : undefined}>
                {column.key ? (
                  <button type="button" class="sort" onClick={() => setSort({ key: column.key!, ascending: sort.key === column.key ? !sort.ascending : true })}>
                    {column.label}
                    <span aria-hidden="true">{column.key === sort.key ? (sort.ascending ? ' ▲' : ' ▼') : ''}</span>
                  </button>
                ) : (
                  column.label
                )}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 && (
            <tr>
              <td colSpan={COLUMNS.length}>{props.rows.length === 0 ? 'No certificates are managed yet.' : 'No certificate matches the filter.'}</td>
            </tr>
          )}
          {rows.map((row) => (
            <tr key={row.hostname} data-hostname={row.hostname}>
              <th scope="row" data-label="Hostnames">
                {row.hostnames.join(', ')}
              </th>
              <td data-label="Source">{SOURCE_LABELS[row.source]}</td>
              <td data-label="Challenge">
                {challengeText(row.challengeType, row.source)}
                {row.profile ? <span class="muted"> · profile {row.profile}</span> : null}
              </td>
              <td data-label="State">
                <span class={`state state--${row.state}`}>{row.state}</span>
                {row.overdue && <span class="state state--overdue"> overdue</span>}
                {row.revoked && (
                  <span class="state state--revoked" title={`Serial ${row.revoked.serialNumber}, revoked ${row.revoked.at}`}>
                    {' '}
                    revoked ({row.revoked.reason})
                  </span>
                )}
                {row.pendingOperation && <span class="hint"> ({row.pendingOperation.status})</span>}
              </td>
              <td data-label="Expires">
                {day(row.expiresOn)} <span class="hint">{daysLeftText(row.daysLeft)}</span>
              </td>
              <td data-label="Next renewal">
                {row.source === 'import' ? 'Not renewed (imported)' : day(row.nextRenewal)}
                {row.nextAttemptAt ? (
                  <span class="muted">
                    {' '}
                    · {row.consecutiveFailures} failure(s) in a row: automatic attempts wait until {day(row.nextAttemptAt)}
                  </span>
                ) : null}
              </td>
              <td data-label="CA renewal window">{row.renewalWindow ? `${day(row.renewalWindow.start)} to ${day(row.renewalWindow.end)}` : '—'}</td>
              <td data-label="Gateway">{gatewayText(row.gateway)}</td>
              <td data-label="Last failure">
                {row.lastFailure ? (
                  <details>
                    <summary>
                      <code>{row.lastFailure.code}</code> at {row.lastFailure.failedStep ?? 'start'}
                    </summary>
                    <FailureRecord record={row.lastFailure.record} />
                  </details>
                ) : (
                  '—'
                )}
              </td>
              <td data-label="Actions" class="actions">
                {row.source !== 'import' && (
                  <button type="button" onClick={() => props.onRenew(row)} aria-label={`Renew ${row.hostname}`}>
                    Renew
                  </button>
                )}
                {row.source === 'acme' && row.version !== null && (
                  <button type="button" class="danger" onClick={() => props.onRevoke(row)} aria-label={`Revoke ${row.hostname}`}>
                    Revoke
                  </button>
                )}
                <button type="button" class="danger" onClick={() => props.onRemove(row)} aria-label={`Remove ${row.hostname}`}>
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
