import * as React from 'react';

import { spentOn } from '../reducer';
import { SidebarState } from '../store';
import { Status } from '../types';
import { JobList } from './JobList';
import { JobActions } from './JobRow';
import { Notice } from './Notice';
import { PoolSection } from './PoolSection';
import { QuotaSection } from './QuotaSection';

export interface SidebarProps extends JobActions {
  state: SidebarState;
  now: number;
  onRetry: () => void;
}

/** The whole-panel notice when the pool cannot be used; null when it can. */
function PoolNotice({ status, onRetry }: { status: Status; onRetry: () => void }): JSX.Element | null {
  const retry = { label: 'Retry', onClick: onRetry };
  switch (status.state) {
    case 'starting':
      return (
        <Notice kind="loading" title="Starting the pool…">
          {status.message ??
            'An embedded pool with local workers is starting on this machine; this takes a few seconds.'}
        </Notice>
      );
    case 'unreachable':
      return (
        <Notice kind="error" title="The fair-share pool is not reachable." action={retry}>
          <p>{status.message}</p>
          <p>
            Check that the pool at {status.pool_url ?? 'FAIRSHARE_URL'} is running (
            <code>fairshare pool serve</code>) and reachable from the Jupyter server, then
            retry.
          </p>
        </Notice>
      );
    case 'bad-token':
      return (
        <Notice kind="error" title="The pool refused this server's token." action={retry}>
          <p>{status.message}</p>
          <p>
            Set <code>FAIRSHARE_TOKEN</code> to a valid token (the pool's operator makes one
            with <code>fairshare admin account add</code>) and restart the Jupyter server.
          </p>
        </Notice>
      );
    default:
      return null;
  }
}

/** The sidebar: pool, quota and jobs, or the one notice that says what to do. */
export function Sidebar({ state, now, onRetry, ...actions }: SidebarProps): JSX.Element {
  let body: JSX.Element;
  if (state.statusError) {
    body = (
      <Notice
        kind="error"
        title="The fair-share server extension did not answer."
        action={{ label: 'Retry', onClick: onRetry }}
      >
        {state.statusError}
      </Notice>
    );
  } else if (state.status === null) {
    body = <Notice kind="loading" title="Connecting to the fair-share pool…" />;
  } else {
    body = PoolNotice({ status: state.status, onRetry }) ?? (
      <>
        <PoolSection status={state.status} pool={state.pool} error={state.poolError} />
        <QuotaSection
          account={state.account}
          spent={spentOn(state.jobs ?? [])}
          error={state.accountError}
        />
        <JobList
          jobs={state.jobs}
          error={state.jobsError}
          now={now}
          onRetry={onRetry}
          {...actions}
        />
      </>
    );
  }
  return (
    <div className="jp-Fairshare-sidebar" data-testid="fairshare-sidebar">
      <h2 className="jp-Fairshare-title">Fair-share</h2>
      {body}
    </div>
  );
}
