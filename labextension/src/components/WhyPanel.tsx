import * as React from 'react';

import { describeError } from '../apierror';
import { formatExpectedStart, formatPosition } from '../format';
import { PriorityComponents, Why } from '../types';
import { Notice } from './Notice';

export interface WhyPanelProps {
  jobId: string;
  loadWhy: (id: string) => Promise<Why>;
  now: number;
}

type Loaded =
  | { kind: 'loading' }
  | { kind: 'error'; message: string }
  | { kind: 'ready'; why: Why };

const LABELS: Array<[keyof PriorityComponents, string, string]> = [
  ['fairshare', 'Fair share', 'Higher when your decayed past usage is small against your shares'],
  ['age', 'Age', 'Grows the longer the job waits'],
  ['reserve', 'Newcomer reserve', 'Set when the job may use the capacity kept for newcomers'],
  ['priority', 'Priority', 'The sum the queue is ordered by']
];

function fixed(value: number): string {
  return value.toFixed(3);
}

/** Why a job waits where it waits: its priority components and the jobs ahead of it. */
export function WhyPanel({ jobId, loadWhy, now }: WhyPanelProps): JSX.Element {
  const [loaded, setLoaded] = React.useState<Loaded>({ kind: 'loading' });
  const [attempt, setAttempt] = React.useState(0);

  React.useEffect(() => {
    let live = true;
    setLoaded({ kind: 'loading' });
    loadWhy(jobId).then(
      why => live && setLoaded({ kind: 'ready', why }),
      error => live && setLoaded({ kind: 'error', message: describeError(error) })
    );
    return () => {
      live = false;
    };
  }, [jobId, loadWhy, attempt]);

  if (loaded.kind === 'loading') {
    return <Notice kind="loading" title="Asking the pool why this job waits…" />;
  }
  if (loaded.kind === 'error') {
    return (
      <Notice
        kind="error"
        title="The pool could not say why this job waits."
        action={{ label: 'Retry', onClick: () => setAttempt(attempt + 1) }}
      >
        {loaded.message}
      </Notice>
    );
  }
  const { why } = loaded;
  return (
    <div className="jp-Fairshare-why" data-testid="fairshare-why">
      <div>
        Position {formatPosition(why.position, why.queue_length) || '—'}, expected to
        start {formatExpectedStart(why.expected_start, now)}.
      </div>
      <table className="jp-Fairshare-table">
        <tbody>
          {LABELS.map(([key, label, help]) => (
            <tr key={key} title={help} data-testid={`fairshare-why-${key}`}>
              <th>{label}</th>
              <td>{fixed(why.components[key])}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {why.ahead.length > 0 && (
        <div className="jp-Fairshare-ahead">
          Ahead:{' '}
          {why.ahead
            .map(item => `#${item.position} ${item.tier} (${fixed(item.priority)})`)
            .join(', ')}
        </div>
      )}
    </div>
  );
}
