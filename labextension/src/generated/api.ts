/**
 * The pool's wire types, generated from its OpenAPI spec (/openapi.json) and from
 * jupyter_fairshare/protocol.py by labextension/scripts/openapi-types.py: do not edit by
 * hand; rerun `python labextension/scripts/openapi-types.py` after changing the schemas.
 * A field marked optional (`?`) has a default in the pool's model; the pool's responses
 * carry it all the same.
 */

export const JOB_STATES = [
  'queued',
  'running',
  'done',
  'failed',
  'cancelled'
] as const;

export const FINAL_STATES = [
  'done',
  'failed',
  'cancelled'
] as const;

export const EVENT_TYPES = [
  'queued',
  'started',
  'output',
  'progress',
  'cost',
  'requeued',
  'done',
  'failed',
  'cancelled'
] as const;

export interface Account {
  name: string;
  tier: string;
  role: string;
  shares: number;
  credits: number;
  held: number;
  balance: number;
  usage: number;
}

export interface AccountCreate {
  name: string;
  tier?: string;
  shares?: number;
  credits?: number;
  role?: 'user' | 'admin';
}

export interface Bill {
  lines: Record<string, unknown>[];
  total: number;
  capped: boolean;
  site: string;
  price_version: number;
  energy_kwh: number;
  carbon_intensity: number;
  co2e_g: number;
  cpu_seconds: number;
  wall_seconds: number;
  peak_memory: number;
}

/** What every refusal answers: one sentence, a machine-readable code, and details by code (``limit`` and ``size`` for payload_too_large, ``estimate`` and ``balance`` for credits_too_low). */
export interface ErrorBody {
  /** what happened and what to do, in one sentence */
  detail: string;
  /** unauthorized, forbidden, not_found, conflict, no_result, invalid, no_site_fits, credits_too_low or payload_too_large */
  code: string;
}

export interface HTTPValidationError {
  detail?: ValidationError[];
}

export interface Job {
  id: string;
  name: string;
  kind: string;
  state: 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
  reason?: string | null;
  error?: string | null;
  cpus: number;
  memory: number;
  gpus: number;
  max_cost: number;
  hold: number;
  site?: string | null;
  attempt: number;
  submitted_at: number;
  started_at?: number | null;
  finished_at?: number | null;
  position?: number | null;
  queue_length?: number | null;
  expected_start?: number | null;
  cost?: number;
  bill?: Bill | null;
  progress?: Record<string, number> | null;
  notebook?: string | null;
  cell?: string | null;
  greener_window?: Record<string, number> | null;
  /** with ?wait, for a job that ended: its output events and its result blob (base64), when both are small */
  inline?: Record<string, unknown> | null;
}

export interface JobList {
  jobs: Job[];
}

export interface Reservation {
  holder: string;
  site: string;
  cpus: number;
  memory?: number | string;
  gpus?: number;
  starts_at: number;
  ends_at: number;
  reason: string;
}

export interface TopUp {
  amount: number;
}

export interface ValidationError {
  loc: Array<string | number>;
  msg: string;
  type: string;
  input?: unknown;
  ctx?: Record<string, unknown>;
}
