/**
 * @jest-environment jsdom
 */
import { fireEvent, render, screen } from '@testing-library/react';
import * as React from 'react';

import { ACCOUNT, POOL, READY } from '../testing/fixtures';
import { PoolSection } from './PoolSection';
import { QuotaSection } from './QuotaSection';
import { StatusItem } from './StatusItem';

describe('PoolSection', () => {
  it("shows each site's free CPUs, price per CPU-hour and carbon intensity", () => {
    render(<PoolSection status={READY} pool={POOL} error={null} />);
    expect(screen.getByTestId('fairshare-pool-state').textContent).toMatch('http://127.0.0.1:8765');
    const site = screen.getByTestId('fairshare-site');
    expect(site.textContent).toMatch('6 / 8');
    expect(site.textContent).toMatch('0.036/CPU-h');
    expect(site.textContent).toMatch('310 g/kWh');
  });

  it('says an embedded pool is on this machine', () => {
    render(<PoolSection status={{ ...READY, embedded: true }} pool={POOL} error={null} />);
    expect(screen.getByTestId('fairshare-pool-state').textContent).toMatch('embedded pool');
  });

  it('says what to do when no site has joined', () => {
    render(<PoolSection status={READY} pool={{ sites: [], prices: [] }} error={null} />);
    expect(screen.getByTestId('fairshare-empty').textContent).toMatch('fairshare node join');
  });
});

describe('QuotaSection', () => {
  it('shows credits spent, held and left', () => {
    render(<QuotaSection account={ACCOUNT} spent={0.5} error={null} />);
    expect(screen.getByTestId('fairshare-quota-figures').textContent).toBe(
      ' spent 0.5 held 1.50 left 8.50'
    );
  });

  it('warns when no credits are left', () => {
    render(<QuotaSection account={{ ...ACCOUNT, held: 0, balance: 0 }} spent={10} error={null} />);
    expect(screen.getByRole('alert').textContent).toMatch(/No credits left/);
  });

  it('shows loading while the account loads', () => {
    render(<QuotaSection account={null} spent={0} error={null} />);
    expect(screen.getByTestId('fairshare-loading').textContent).toMatch(/Loading your quota/);
  });

  it('shows why the account could not be loaded', () => {
    render(<QuotaSection account={null} spent={0} error="The pool stopped answering." />);
    expect(screen.getByTestId('fairshare-error').textContent).toMatch(/stopped answering/);
  });
});

describe('StatusItem', () => {
  it('shows running and queued counts and opens the sidebar on click', () => {
    const onClick = jest.fn();
    render(<StatusItem running={1} queued={2} onClick={onClick} />);
    const item = screen.getByTestId('fairshare-statusbar');
    expect(item.textContent).toBe('Fair-share: 1 running, 2 queued');
    fireEvent.click(item);
    expect(onClick).toHaveBeenCalled();
  });
});
