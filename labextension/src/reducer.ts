/**
 * How one job event changes the list of jobs: pure functions over plain data, so the
 * sidebar's live behaviour is tested without a browser. The server's list stays the
 * truth: after events the store re-fetches it (debounced) for positions and new jobs.
 */

import {
  ACTIVE_STATES,
  Bill,
  EVENT_TYPES,
  Job,
  JobEvent,
  JobState
} from './types';

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

const FINAL: Record<string, JobState> = {
  done: 'done',
  failed: 'failed',
  cancelled: 'cancelled'
};

const NOT_QUEUED = {
  position: null,
  queue_length: null,
  expected_start: null
} as const;

function bill(value: unknown): Bill | null {
  return typeof value === 'object' && value !== null ? (value as Bill) : null;
}

/**
 * The job as one event leaves it at time `now`; the same object when the event changes
 * nothing shown. The kernel folds events with the same rules
 * (`jupyter_fairshare/notebook/folding.py`); both are checked against
 * `tests/fixtures/event_sequences.json`, so change them together.
 */
export function applyEventToJob(job: Job, event: JobEvent, now: number): Job {
  const d = event.data;
  switch (event.type) {
    case 'queued':
      return {
        ...job,
        state: 'queued',
        position: num(d.position) ?? job.position,
        queue_length: num(d.queue_length) ?? job.queue_length,
        expected_start: num(d.expected_start) ?? job.expected_start
      };
    case 'started':
      return {
        ...job,
        ...NOT_QUEUED,
        state: 'running',
        site: str(d.site) ?? job.site,
        attempt: num(d.attempt) ?? job.attempt,
        started_at: num(d.started_at) ?? now
      };
    case 'progress': {
      const done = num(d.done);
      const total = num(d.total);
      return done === null || total === null
        ? job
        : { ...job, progress: { done, total } };
    }
    case 'cost':
      return {
        ...job,
        cost: num(d.cost) ?? job.cost,
        max_cost: num(d.max_cost) ?? job.max_cost
      };
    case 'requeued':
      // A worker was lost: the job waits again and the lost run is not billed.
      return {
        ...job,
        state: 'queued',
        reason: str(d.reason),
        started_at: null,
        site: null,
        cost: 0
      };
    case 'done':
    case 'failed':
    case 'cancelled': {
      // The final event is the whole account of the ending: nothing of an earlier run stays.
      const ended = bill(d.bill);
      return {
        ...job,
        ...NOT_QUEUED,
        state: FINAL[str(d.state) ?? event.type] ?? FINAL[event.type],
        reason: str(d.reason),
        error: str(d.error),
        bill: ended,
        cost: num(d.cost) ?? num(ended?.total) ?? job.cost,
        finished_at: num(d.finished_at) ?? now
      };
    }
    case 'output':
    default:
      return job;
  }
}

/**
 * The jobs as one event leaves them. Returns the same array when nothing changed
 * (an output event, or a job not in the list yet: the debounced re-fetch brings it).
 */
export function applyEvent(
  jobs: readonly Job[],
  event: JobEvent,
  now: number
): readonly Job[] {
  const index = jobs.findIndex(job => job.id === event.data.job);
  if (index < 0) {
    return jobs;
  }
  const updated = applyEventToJob(jobs[index], event, now);
  if (updated === jobs[index]) {
    return jobs;
  }
  const next = jobs.slice();
  next[index] = updated;
  return next;
}

/** Whether the job can still be cancelled. */
export function isActive(job: Job): boolean {
  return ACTIVE_STATES.includes(job.state);
}

/** How many of the jobs run and how many wait: the status bar's figures. */
export function countActive(jobs: readonly Job[]): {
  running: number;
  queued: number;
} {
  let running = 0;
  let queued = 0;
  for (const job of jobs) {
    if (job.state === 'running') {
      running += 1;
    } else if (job.state === 'queued') {
      queued += 1;
    }
  }
  return { running, queued };
}

/** What the finished jobs in the list cost: the "spent" part of the quota bar. */
export function spentOn(jobs: readonly Job[]): number {
  return jobs
    .filter(job => !isActive(job))
    .reduce((sum, job) => sum + job.cost, 0);
}

/** Parse one server-sent event into a job event; null for anything else. */
export function parseEvent(type: string, data: string): JobEvent | null {
  if (!(EVENT_TYPES as readonly string[]).includes(type)) {
    return null;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return null;
  }
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    typeof (parsed as { job?: unknown }).job !== 'string'
  ) {
    return null;
  }
  return { type: type as JobEvent['type'], data: parsed as JobEvent['data'] };
}
