import { useState } from 'preact/hooks';

/** A failure record (code, message, detail, step, hostnames, instance) ready to paste into a ticket. */
export function FailureRecord({ record, label = 'Failure record' }: { record: Record<string, unknown>; label?: string }) {
  const [copied, setCopied] = useState<string>('');
  const text = JSON.stringify(record, null, 2);
  const code = typeof record.code === 'string' ? record.code : undefined;
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied('Copied to the clipboard.');
    } catch {
      setCopied('Copying was refused by the browser; select the text and copy it.');
    }
  };
  return (
    <div class="failure">
      {code && (
        <p>
          <strong class="failure__code" data-testid="failure-code">
            {code}
          </strong>
          {typeof record.message === 'string' && <span> {record.message}</span>}
        </p>
      )}
      <details open>
        <summary>{label}</summary>
        <pre class="failure__record" data-testid="failure-record" tabIndex={0}>
          {text}
        </pre>
      </details>
      <button type="button" onClick={() => void copy()}>
        Copy the failure record
      </button>
      <span role="status" class="hint">
        {copied}
      </span>
    </div>
  );
}
