import { useState } from 'preact/hooks';
import { ApiError, issue, type EntryRequest, type FieldError, type StatusLinks } from './api';
import type { ChallengeType } from './steps';

/** Names typed one per line (or separated by commas or spaces), as the operator pastes them. */
export function namesOf(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((name) => name.trim())
    .filter(Boolean);
}

/**
 * Issue one or many certificates: each name its own certificate, or all names in one (a group:
 * a wildcard with its apex, or up to 5 names on one multi-site listener). A wildcard needs DNS-01.
 */
export function IssueForm({ onStarted }: { onStarted: (title: string, links: StatusLinks, challengeType?: ChallengeType) => void }) {
  const [text, setText] = useState('');
  const [challengeType, setChallengeType] = useState<'http-01' | 'dns-01'>('http-01');
  const [together, setTogether] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ message: string; fields: FieldError[] } | undefined>();

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const names = namesOf(text);
    if (names.length === 0) {
      setError({ message: 'Enter at least one hostname.', fields: [] });
      return;
    }
    const entries: EntryRequest[] = names.map((hostname) => ({
      hostname,
      ...(challengeType === 'dns-01' ? { challengeType } : {}),
      ...(together && names.length > 1 ? { group: 'dashboard' } : {}),
    }));
    setBusy(true);
    setError(undefined);
    try {
      const links = await issue(entries);
      // One name's steps are known ahead; a batch reports counts instead.
      onStarted(`Issue ${names.join(', ')}`, links, names.length === 1 ? challengeType : undefined);
      setText('');
    } catch (caught) {
      if (caught instanceof ApiError) setError({ message: `${caught.title}: ${caught.detail}`, fields: caught.errors });
      else setError({ message: 'The request could not be sent.', fields: [] });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="issue" onSubmit={(event) => void submit(event)} aria-labelledby="issue-heading" noValidate>
      <h2 id="issue-heading">Issue certificates</h2>
      <label for="issue-names">Hostnames, one per line</label>
      <textarea
        id="issue-names"
        name="hostnames"
        rows={3}
        value={text}
        onInput={(event) => setText((event.target as HTMLTextAreaElement).value)}
        aria-describedby="issue-names-hint"
        aria-invalid={error ? 'true' : undefined}
        autocomplete="off"
        spellcheck={false}
      />
      <p id="issue-names-hint" class="hint">
        For example www.contoso.com. A wildcard (*.contoso.com) needs DNS-01.
      </p>
      <fieldset>
        <legend>Prove ownership by</legend>
        <label>
          <input type="radio" name="challengeType" value="http-01" checked={challengeType === 'http-01'} onChange={() => setChallengeType('http-01')} /> HTTP-01 (the name points at the gateway)
        </label>
        <label>
          <input type="radio" name="challengeType" value="dns-01" checked={challengeType === 'dns-01'} onChange={() => setChallengeType('dns-01')} /> DNS-01 (a TXT record in Azure DNS)
        </label>
      </fieldset>
      <label class="checkbox">
        <input type="checkbox" name="together" checked={together} onChange={(event) => setTogether((event.target as HTMLInputElement).checked)} /> One certificate for all these names (at most 5)
      </label>
      <button type="submit" disabled={busy}>
        {busy ? 'Starting…' : 'Issue'}
      </button>
      {error && (
        <div class="error" role="alert" data-testid="issue-error">
          <p>{error.message}</p>
          {error.fields.length > 0 && (
            <ul>
              {error.fields.map((field) => (
                <li key={field.field}>
                  <code>{field.field}</code> {field.reason}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </form>
  );
}
