import {
  applyEvent,
  applyEventToJob,
  countActive,
  isActive,
  parseEvent,
  spentOn
} from './reducer';
import { makeBill, makeJob, NOW } from './testing/fixtures';
import { Job, JobEvent } from './types';
// The sequences the kernel's folding (tests/notebook/test_folding.py) is checked on too.
import shared from '../../tests/fixtures/event_sequences.json';

interface Sequence {
  name: string;
  events: JobEvent[];
  expected: Partial<Job>;
}

function event(type: JobEvent['type'], data: Record<string, unknown> = {}): JobEvent {
  return { type, data: { job: 'j1', ...data } };
}

describe('applyEventToJob', () => {
  it('moves a queued job in the queue', () => {
    const job = applyEventToJob(
      makeJob(),
      event('queued', { position: 1, queue_length: 4, expected_start: NOW + 5 }),
      NOW
    );
    expect(job).toMatchObject({ state: 'queued', position: 1, queue_length: 4, expected_start: NOW + 5 });
  });

  it('starts a job: running, at its site, out of the queue', () => {
    const job = applyEventToJob(makeJob(), event('started', { site: 'uni', attempt: 1 }), NOW);
    expect(job).toMatchObject({
      state: 'running',
      site: 'uni',
      attempt: 1,
      started_at: NOW,
      position: null,
      queue_length: null,
      expected_start: null
    });
  });

  it('updates the cost so far against the cap', () => {
    const job = applyEventToJob(
      makeJob({ state: 'running' }),
      event('cost', { cost: 0.12, max_cost: 1.5 }),
      NOW
    );
    expect(job.cost).toBe(0.12);
    expect(job.max_cost).toBe(1.5);
  });

  it('records progress', () => {
    const job = applyEventToJob(makeJob(), event('progress', { done: 3, total: 10 }), NOW);
    expect(job.progress).toEqual({ done: 3, total: 10 });
  });

  it('takes the start time the started event gives', () => {
    const job = applyEventToJob(makeJob(), event('started', { site: 'uni', started_at: NOW - 3 }), NOW);
    expect(job.started_at).toBe(NOW - 3);
  });

  it('puts a requeued job back in the queue without billing the lost run', () => {
    const running = makeJob({ state: 'running', started_at: NOW - 5, site: 'uni', cost: 0.2 });
    const job = applyEventToJob(running, event('requeued', { reason: 'worker lost' }), NOW);
    expect(job).toMatchObject({ state: 'queued', reason: 'worker lost', started_at: null, site: null, cost: 0 });
  });

  it('ends a job with its bill: the cost becomes the bill total', () => {
    const bill = makeBill({ total: 0.42 });
    const job = applyEventToJob(
      makeJob({ state: 'running', started_at: NOW - 12 }),
      event('done', { state: 'done', reason: null, error: null, bill }),
      NOW
    );
    expect(job).toMatchObject({ state: 'done', cost: 0.42, bill, finished_at: NOW, position: null });
  });

  it('keeps the error of a failed job and marks a cancelled one', () => {
    const failed = applyEventToJob(makeJob(), event('failed', { state: 'failed', error: 'ZeroDivisionError', bill: null }), NOW);
    expect(failed).toMatchObject({ state: 'failed', error: 'ZeroDivisionError' });
    const cancelled = applyEventToJob(makeJob(), event('cancelled', { reason: 'cancelled' }), NOW);
    expect(cancelled.state).toBe('cancelled');
  });

  it('forgets the reason of a lost run once the job ends', () => {
    const requeued = makeJob({ state: 'running', reason: 'worker lost' });
    const job = applyEventToJob(requeued, event('done', { state: 'done', reason: null, cost: 0.1 }), NOW);
    expect(job).toMatchObject({ reason: null, cost: 0.1 });
  });

  it('leaves the job as it is for output', () => {
    const job = makeJob();
    expect(applyEventToJob(job, event('output', { stream: 'stdout', text: 'hi' }), NOW)).toBe(job);
  });
});

describe('the event sequences shared with the kernel', () => {
  const sequences = shared.sequences as unknown as Sequence[];

  it.each(sequences.map(s => [s.name, s] as const))(
    '%s: folds to the expected job fields',
    (_name, sequence) => {
      const job = sequence.events.reduce(
        (current, event) => applyEventToJob(current, event, shared.now),
        shared.start as unknown as Job
      );
      const fields = Object.keys(sequence.expected) as (keyof Job)[];
      expect(Object.fromEntries(fields.map(k => [k, job[k]]))).toEqual(
        sequence.expected
      );
    }
  );
});

describe('applyEvent', () => {
  it('updates only the job the event names, in place', () => {
    const jobs = [makeJob({ id: 'j0' }), makeJob({ id: 'j1' })];
    const next = applyEvent(jobs, event('started', { site: 'uni' }), NOW);
    expect(next).not.toBe(jobs);
    expect(next[0]).toBe(jobs[0]);
    expect(next[1].state).toBe('running');
    expect(jobs[1].state).toBe('queued');
  });

  it('returns the same list for an unknown job or an output event', () => {
    const jobs = [makeJob()];
    expect(applyEvent(jobs, { type: 'started', data: { job: 'other' } }, NOW)).toBe(jobs);
    expect(applyEvent(jobs, event('output', { text: 'x' }), NOW)).toBe(jobs);
  });
});

describe('summaries', () => {
  it('counts running and queued jobs', () => {
    const jobs = [
      makeJob({ id: 'a', state: 'running' }),
      makeJob({ id: 'b', state: 'queued' }),
      makeJob({ id: 'c', state: 'queued' }),
      makeJob({ id: 'd', state: 'done' })
    ];
    expect(countActive(jobs)).toEqual({ running: 1, queued: 2 });
    expect(jobs.filter(isActive).map(job => job.id)).toEqual(['a', 'b', 'c']);
  });

  it('sums what the finished jobs cost', () => {
    const jobs = [
      makeJob({ id: 'a', state: 'done', cost: 0.5 }),
      makeJob({ id: 'b', state: 'failed', cost: 0.25 }),
      makeJob({ id: 'c', state: 'running', cost: 9 })
    ];
    expect(spentOn(jobs)).toBe(0.75);
  });
});

describe('parseEvent', () => {
  it('parses a job event', () => {
    expect(parseEvent('cost', '{"job":"j1","cost":0.1}')).toEqual({
      type: 'cost',
      data: { job: 'j1', cost: 0.1 }
    });
  });

  it('ignores unknown types, bad JSON and data without a job', () => {
    expect(parseEvent('hello', '{"job":"j1"}')).toBeNull();
    expect(parseEvent('cost', 'not json')).toBeNull();
    expect(parseEvent('cost', '{"cost":1}')).toBeNull();
  });
});
