import * as React from 'react';

import { describeError } from '../apierror';
import {
  elapsedSeconds,
  formatCarbon,
  formatCredits,
  formatDuration,
  formatExpectedStart,
  formatPosition
} from '../format';
import { isActive } from '../reducer';
import { Job, Why } from '../types';
import { WhyPanel } from './WhyPanel';

export interface JobActions {
  cancel: (id: string) => Promise<unknown>;
  open: (job: Job) => void;
  loadWhy: (id: string) => Promise<Why>;
}

export interface JobRowProps extends JobActions {
  job: Job;
  now: number;
}

/** The label a job goes by: its name, or what it is ("cell"). */
export function jobLabel(job: Job): string {
  return job.name || job.kind || 'job';
}

function when(job: Job, now: number): string {
  if (job.state === 'queued') {
    const position = formatPosition(job.position, job.queue_length);
    const start = formatExpectedStart(job.expected_start, now);
    return position ? `${position} · ${start}` : start;
  }
  const elapsed = elapsedSeconds(job.started_at, job.finished_at, now);
  if (elapsed === null) {
    return '';
  }
  return job.state === 'running'
    ? `running ${formatDuration(elapsed)}${job.site ? ` at ${job.site}` : ''}`
    : `ran ${formatDuration(elapsed)}`;
}

/** One job, live: state, position or elapsed time, cost against its cap, carbon, cancel. */
export function JobRow({ job, now, cancel, open, loadWhy }: JobRowProps): JSX.Element {
  const [expanded, setExpanded] = React.useState(false);
  const [cancelling, setCancelling] = React.useState(false);
  const [error, setError] = React.useState<string | null>(null);
  const active = isActive(job);

  const onCancel = async (): Promise<void> => {
    setCancelling(true);
    setError(null);
    try {
      await cancel(job.id);
    } catch (reason) {
      setError(describeError(reason));
    } finally {
      setCancelling(false);
    }
  };

  const label = jobLabel(job);
  const capFraction = job.max_cost > 0 ? Math.min(1, job.cost / job.max_cost) : 0;
  return (
    <li
      className={`jp-Fairshare-job jp-mod-${job.state}`}
      data-testid="fairshare-job"
      data-job-id={job.id}
    >
      <div className="jp-Fairshare-job-main">
        {job.notebook ? (
          <button
            className="jp-Fairshare-link"
            title={`Open ${job.notebook}${job.cell ? ' at its cell' : ''}`}
            onClick={() => open(job)}
          >
            {label}
          </button>
        ) : (
          <span className="jp-Fairshare-job-name">{label}</span>
        )}
        <span
          className={`jp-Fairshare-state jp-mod-${job.state}`}
          data-testid="fairshare-job-state"
        >
          {job.state}
        </span>
      </div>
      <div className="jp-Fairshare-job-when" data-testid="fairshare-job-position">
        {when(job, now)}
      </div>
      <div className="jp-Fairshare-job-figures">
        <span
          className="jp-Fairshare-cost"
          data-testid="fairshare-job-cost"
          title="Cost so far against the job's cap, in credits"
        >
          {formatCredits(job.cost)} / {formatCredits(job.max_cost)} credits
          {job.bill?.capped ? ' (capped)' : ''}
          <span className="jp-Fairshare-cap" aria-hidden="true">
            <span style={{ width: `${capFraction * 100}%` }} />
          </span>
        </span>
        <span
          className="jp-Fairshare-carbon"
          data-testid="fairshare-job-carbon"
          title={job.bill ? `${job.bill.carbon_intensity} gCO2e/kWh at ${job.bill.site}` : 'Stated on the bill when the job ends'}
        >
          {job.bill ? `${formatCarbon(job.bill.co2e_g)} CO2e` : '— CO2e'}
        </span>
      </div>
      {job.progress && job.progress.total > 0 && (
        <progress
          className="jp-Fairshare-progress"
          value={job.progress.done}
          max={job.progress.total}
        />
      )}
      {(job.error || (job.reason && job.state !== 'done')) && (
        <div className="jp-Fairshare-job-error" data-testid="fairshare-job-error">
          {job.error ?? job.reason}
        </div>
      )}
      {error && (
        <div className="jp-Fairshare-job-error" role="alert">
          {error}
        </div>
      )}
      <div className="jp-Fairshare-job-actions">
        {job.state === 'queued' && (
          <button
            className="jp-Fairshare-link"
            aria-expanded={expanded}
            data-testid="fairshare-job-why-toggle"
            onClick={() => setExpanded(!expanded)}
          >
            {expanded ? 'Hide why it waits' : 'Why it waits'}
          </button>
        )}
        {active && (
          <button
            className="jp-Button jp-mod-styled jp-mod-warn jp-Fairshare-cancel"
            data-testid="fairshare-job-cancel"
            disabled={cancelling}
            title="Cancel this job: a running job is stopped and billed up to now"
            onClick={() => void onCancel()}
          >
            {cancelling ? 'Cancelling…' : 'Cancel'}
          </button>
        )}
      </div>
      {expanded && job.state === 'queued' && (
        <WhyPanel jobId={job.id} loadWhy={loadWhy} now={now} />
      )}
    </li>
  );
}
