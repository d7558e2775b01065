import * as React from 'react';

import { formatCredits } from '../format';
import { Account } from '../types';
import { Notice } from './Notice';

export interface QuotaSectionProps {
  account: Account | null;
  /** What the finished jobs in the list cost. */
  spent: number;
  error: string | null;
}

function percent(part: number, whole: number): string {
  return whole > 0 ? `${Math.max(0, Math.min(100, (part / whole) * 100))}%` : '0%';
}

/** My quota: credits spent, held by running jobs and left, as one bar. */
export function QuotaSection({ account, spent, error }: QuotaSectionProps): JSX.Element {
  let body: JSX.Element;
  if (error) {
    body = (
      <Notice kind="error" title="Your quota could not be loaded.">
        {error}
      </Notice>
    );
  } else if (account === null) {
    body = <Notice kind="loading" title="Loading your quota…" />;
  } else {
    const held = Math.max(0, account.held);
    const left = Math.max(0, account.balance);
    const whole = spent + held + left;
    body = (
      <>
        <div className="jp-Fairshare-account">
          {account.name} · {account.tier} tier · {account.shares} shares
        </div>
        <div
          className="jp-Fairshare-bar"
          role="img"
          aria-label={`${formatCredits(spent)} credits spent, ${formatCredits(held)} held, ${formatCredits(left)} left`}
        >
          <span className="jp-Fairshare-bar-spent" style={{ width: percent(spent, whole) }} />
          <span className="jp-Fairshare-bar-held" style={{ width: percent(held, whole) }} />
          <span className="jp-Fairshare-bar-left" style={{ width: percent(left, whole) }} />
        </div>
        <div className="jp-Fairshare-legend" data-testid="fairshare-quota-figures">
          <span>
            <i className="jp-Fairshare-swatch jp-Fairshare-bar-spent" /> spent{' '}
            {formatCredits(spent)}
          </span>
          <span>
            <i className="jp-Fairshare-swatch jp-Fairshare-bar-held" /> held{' '}
            {formatCredits(held)}
          </span>
          <span>
            <i className="jp-Fairshare-swatch jp-Fairshare-bar-left" /> left{' '}
            {formatCredits(left)}
          </span>
        </div>
        {left <= 0 && (
          <div className="jp-Fairshare-warning" role="alert">
            No credits left for new jobs: ask the pool's operator for more
            (<code>fairshare admin credits</code>).
          </div>
        )}
      </>
    );
  }
  return (
    <section className="jp-Fairshare-section" data-testid="fairshare-quota">
      <h3 className="jp-Fairshare-heading">My quota</h3>
      {body}
    </section>
  );
}
