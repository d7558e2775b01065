import * as React from 'react';

import { Job } from '../types';
import { JobActions, JobRow } from './JobRow';
import { Notice } from './Notice';

export interface JobListProps extends JobActions {
  jobs: readonly Job[] | null;
  error: string | null;
  now: number;
  onRetry: () => void;
}

/** My jobs, live; or why there are none to show. */
export function JobList({ jobs, error, now, onRetry, ...actions }: JobListProps): JSX.Element {
  let body: JSX.Element;
  if (error) {
    body = (
      <Notice
        kind="error"
        title="Your jobs could not be loaded."
        action={{ label: 'Retry', onClick: onRetry }}
      >
        {error}
      </Notice>
    );
  } else if (jobs === null) {
    body = <Notice kind="loading" title="Loading your jobs…" />;
  } else if (jobs.length === 0) {
    body = (
      <Notice kind="empty" title="No jobs yet: put %%fairshare on top of a cell">
        Run <code>%load_ext jupyter_fairshare</code> once in the notebook, then start a
        cell with <code>%%fairshare</code>; its job shows here as it queues and runs.
      </Notice>
    );
  } else {
    body = (
      <ul className="jp-Fairshare-jobs">
        {jobs.map(job => (
          <JobRow key={job.id} job={job} now={now} {...actions} />
        ))}
      </ul>
    );
  }
  return (
    <section className="jp-Fairshare-section" data-testid="fairshare-jobs">
      <h3 className="jp-Fairshare-heading">My jobs</h3>
      {body}
    </section>
  );
}
