/**
 * @jest-environment jsdom
 */
import { render, screen } from '@testing-library/react';
import * as React from 'react';

import { INITIAL_STATE, SidebarState } from '../store';
import { ACCOUNT, makeJob, NOW, POOL, READY } from '../testing/fixtures';
import { Sidebar } from './Sidebar';

function show(state: Partial<SidebarState>) {
  const onRetry = jest.fn();
  render(
    <Sidebar
      state={{ ...INITIAL_STATE, ...state }}
      now={NOW}
      onRetry={onRetry}
      cancel={jest.fn()}
      open={jest.fn()}
      loadWhy={jest.fn()}
    />
  );
  return { onRetry };
}

describe('Sidebar', () => {
  it('shows loading until the first status answer', () => {
    show({});
    expect(screen.getByTestId('fairshare-sidebar')).toBeTruthy();
    expect(screen.getByTestId('fairshare-loading').textContent).toMatch(/Connecting/);
  });

  it('says the server extension did not answer, with a retry', () => {
    const { onRetry } = show({ statusError: 'Run jupyter server extension enable jupyter_fairshare.' });
    const error = screen.getByTestId('fairshare-error');
    expect(error.textContent).toMatch(/did not answer/);
    expect(error.textContent).toMatch(/extension enable/);
    screen.getByText('Retry').click();
    expect(onRetry).toHaveBeenCalled();
  });

  it('shows the pool starting as loading', () => {
    show({ status: { ...READY, state: 'starting', embedded: true } });
    expect(screen.getByTestId('fairshare-loading').textContent).toMatch(/Starting the pool/);
  });

  it("shows the status message when the pool is down, and what to do", () => {
    show({ status: { ...READY, state: 'unreachable', message: 'No pool answers at http://x:1.' } });
    const error = screen.getByTestId('fairshare-error');
    expect(error.textContent).toMatch(/not reachable/);
    expect(error.textContent).toMatch(/No pool answers at http:\/\/x:1\./);
    expect(error.textContent).toMatch(/fairshare pool serve/);
  });

  it('shows the message for a bad token, and how to get a good one', () => {
    show({ status: { ...READY, state: 'bad-token', message: 'The pool refused the token.' } });
    const error = screen.getByTestId('fairshare-error');
    expect(error.textContent).toMatch(/The pool refused the token\./);
    expect(error.textContent).toMatch(/FAIRSHARE_TOKEN/);
  });

  it('shows the designed empty state when there are no jobs', () => {
    show({ status: READY, pool: POOL, account: ACCOUNT, jobs: [] });
    expect(screen.getByTestId('fairshare-empty').textContent).toMatch(
      'No jobs yet: put %%fairshare on top of a cell'
    );
  });

  it('shows loading for the jobs while they load', () => {
    show({ status: READY, pool: POOL, account: ACCOUNT, jobs: null });
    expect(screen.getByTestId('fairshare-loading').textContent).toMatch(/Loading your jobs/);
  });

  it('shows the pool, the quota and a row per job when ready', () => {
    show({
      status: READY,
      pool: POOL,
      account: ACCOUNT,
      jobs: [makeJob({ id: 'a' }), makeJob({ id: 'b', state: 'done', cost: 0.5 })]
    });
    expect(screen.getByTestId('fairshare-pool')).toBeTruthy();
    expect(screen.getByTestId('fairshare-quota-figures').textContent).toMatch(/spent 0.5/);
    const rows = screen.getAllByTestId('fairshare-job');
    expect(rows.map(row => row.getAttribute('data-job-id'))).toEqual(['a', 'b']);
  });
});
