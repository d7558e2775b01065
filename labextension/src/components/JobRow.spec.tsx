/**
 * @jest-environment jsdom
 */
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import * as React from 'react';

import { makeBill, makeJob, NOW, WHY } from '../testing/fixtures';
import { Job } from '../types';
import { JobRow, JobRowProps } from './JobRow';

function show(job: Job, overrides: Partial<JobRowProps> = {}) {
  const props: JobRowProps = {
    job,
    now: NOW,
    cancel: jest.fn(async () => undefined),
    open: jest.fn(),
    loadWhy: jest.fn(async () => WHY),
    ...overrides
  };
  render(
    <ul>
      <JobRow {...props} />
    </ul>
  );
  return props;
}

describe('JobRow', () => {
  it('shows a queued job: position, expected start, cost against its cap', () => {
    show(makeJob({ position: 3, queue_length: 12, expected_start: NOW + 120 }));
    const row = screen.getByTestId('fairshare-job');
    expect(row.getAttribute('data-job-id')).toBe('j1');
    expect(screen.getByTestId('fairshare-job-state').textContent).toBe('queued');
    expect(screen.getByTestId('fairshare-job-position').textContent).toBe('3 of 12 · in ~2 min');
    expect(screen.getByTestId('fairshare-job-cost').textContent).toMatch('0 / 1.50 credits');
    expect(screen.getByTestId('fairshare-job-carbon').textContent).toBe('— CO2e');
  });

  it('shows a running job: elapsed time, site and cost so far', () => {
    show(makeJob({ state: 'running', started_at: NOW - 42, site: 'uni', cost: 0.12, position: null }));
    expect(screen.getByTestId('fairshare-job-position').textContent).toBe('running 42 s at uni');
    expect(screen.getByTestId('fairshare-job-cost').textContent).toMatch('0.12 / 1.50 credits');
  });

  it("shows a finished job's carbon from its bill, and no cancel button", () => {
    show(
      makeJob({
        state: 'done',
        started_at: NOW - 20,
        finished_at: NOW - 8,
        cost: 0.42,
        bill: makeBill({ co2e_g: 0.31 }),
        position: null
      })
    );
    expect(screen.getByTestId('fairshare-job-carbon').textContent).toBe('0.31 g CO2e');
    expect(screen.getByTestId('fairshare-job-position').textContent).toBe('ran 12 s');
    expect(screen.queryByTestId('fairshare-job-cancel')).toBeNull();
  });

  it('names a job "cell" when it has no name', () => {
    show(makeJob({ name: '' }));
    expect(screen.getByTestId('fairshare-job').textContent).toMatch(/^cell/);
  });

  it('cancels the job, and says so when the cancel fails', async () => {
    const cancel = jest.fn(async () => {
      throw new Error('The job already ended.');
    });
    show(makeJob(), { cancel });
    const button = screen.getByTestId('fairshare-job-cancel');
    await act(async () => {
      fireEvent.click(button);
    });
    expect(cancel).toHaveBeenCalledWith('j1');
    expect(screen.getByRole('alert').textContent).toBe('The job already ended.');
  });

  it('explains why a queued job waits on expand', async () => {
    const props = show(makeJob());
    fireEvent.click(screen.getByTestId('fairshare-job-why-toggle'));
    const why = await screen.findByTestId('fairshare-why');
    expect(props.loadWhy).toHaveBeenCalledWith('j1');
    expect(within(why).getByTestId('fairshare-why-reserve').textContent).toMatch('1.000');
    expect(why.textContent).toMatch(/Ahead: #1 standard/);
  });

  it('shows an error with a retry when the pool cannot say why', async () => {
    const loadWhy = jest
      .fn()
      .mockRejectedValueOnce(new Error('The pool stopped answering.'))
      .mockResolvedValue(WHY);
    show(makeJob(), { loadWhy });
    fireEvent.click(screen.getByTestId('fairshare-job-why-toggle'));
    expect((await screen.findByTestId('fairshare-error')).textContent).toMatch(/stopped answering/);
    fireEvent.click(screen.getByText('Retry'));
    await waitFor(() => expect(screen.getByTestId('fairshare-why')).toBeTruthy());
  });

  it('opens the notebook of a job that has one', () => {
    const job = makeJob({ notebook: 'work/analysis.ipynb', cell: 'c-1' });
    const props = show(job);
    fireEvent.click(screen.getByText('train'));
    expect(props.open).toHaveBeenCalledWith(job);
  });
});
