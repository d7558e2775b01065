/** Plain data for the specs: a job, a bill, a status, an account, a pool. */

import { Account, Bill, Job, PoolInfo, Status, Why } from '../types';

export const NOW = 1_700_000_000;

export function makeJob(overrides: Partial<Job> = {}): Job {
  return {
    id: 'j1',
    name: 'train',
    kind: 'cell',
    state: 'queued',
    reason: null,
    cpus: 1,
    memory: 2e9,
    gpus: 0,
    max_cost: 1.5,
    hold: 1.5,
    site: null,
    attempt: 0,
    submitted_at: NOW - 30,
    started_at: null,
    finished_at: null,
    position: 3,
    queue_length: 12,
    expected_start: NOW + 120,
    cost: 0,
    bill: null,
    progress: null,
    error: null,
    notebook: null,
    cell: null,
    ...overrides
  };
}

export function makeBill(overrides: Partial<Bill> = {}): Bill {
  return {
    lines: [{ item: 'cpu', quantity: 10, unit: 'CPU-s', price: 0.001, amount: 0.01 }],
    total: 0.42,
    capped: false,
    site: 'uni',
    price_version: 1,
    energy_kwh: 0.001,
    carbon_intensity: 310,
    co2e_g: 0.31,
    cpu_seconds: 10,
    wall_seconds: 12,
    peak_memory: 1e8,
    ...overrides
  };
}

export const READY: Status = {
  state: 'ready',
  message: null,
  pool_url: 'http://127.0.0.1:8765',
  embedded: false
};

export const ACCOUNT: Account = {
  name: 'ada',
  tier: 'newcomer',
  role: 'user',
  shares: 10,
  credits: 10,
  held: 1.5,
  balance: 8.5,
  usage: 3.2
};

export const POOL: PoolInfo = {
  sites: [
    {
      name: 'uni',
      workers: 2,
      cpus: 8,
      free_cpus: 6,
      memory: 32e9,
      gpus: 0,
      carbon_intensity: 310.4,
      carbon_source: 'grid average',
      price_version: 1
    }
  ],
  prices: [
    {
      site: 'uni',
      version: 1,
      cpu_second: 0.00001,
      memory_gb_second: 0.000001,
      gpu_second: 0,
      breakdown: {}
    }
  ]
};

export const WHY: Why = {
  position: 3,
  queue_length: 12,
  expected_start: NOW + 120,
  components: { fairshare: 0.5, age: 0.1, reserve: 1, priority: 1.6 },
  ahead: [
    {
      position: 1,
      tier: 'standard',
      priority: 2,
      components: { fairshare: 0.9, age: 0.1, reserve: 0, priority: 2 }
    }
  ]
};
