import * as React from 'react';

import { formatPerHour } from '../format';
import { PoolInfo, Price, Status } from '../types';
import { Notice } from './Notice';

export interface PoolSectionProps {
  status: Status;
  pool: PoolInfo | null;
  error: string | null;
}

function priceFor(prices: readonly Price[], site: string): Price | undefined {
  return prices.find(price => price.site === site);
}

function where(status: Status): string {
  if (status.embedded) {
    return 'an embedded pool on this machine';
  }
  return status.pool_url ?? 'the configured pool';
}

/** The pool: reachable or not, and each site's free CPUs, price and carbon intensity. */
export function PoolSection({ status, pool, error }: PoolSectionProps): JSX.Element {
  return (
    <section className="jp-Fairshare-section" data-testid="fairshare-pool">
      <h3 className="jp-Fairshare-heading">Pool</h3>
      <div className="jp-Fairshare-reachable" data-testid="fairshare-pool-state">
        <span className="jp-Fairshare-dot jp-mod-ready" aria-hidden="true" />
        Reachable: {where(status)}
      </div>
      {error ? (
        <Notice kind="error" title="The pool's sites could not be loaded.">
          {error}
        </Notice>
      ) : pool === null ? (
        <Notice kind="loading" title="Loading the pool's sites…" />
      ) : pool.sites.length === 0 ? (
        <Notice kind="empty" title="No site has joined the pool yet.">
          Jobs wait until one does: an operator adds one with{' '}
          <code>fairshare node join URL --site NAME</code>.
        </Notice>
      ) : (
        <table className="jp-Fairshare-table">
          <thead>
            <tr>
              <th>Site</th>
              <th title="Free CPUs of the site's total">CPUs free</th>
              <th title="Price per CPU-hour, in credits">Price</th>
              <th title="Grams of CO2e per kWh now">Carbon</th>
            </tr>
          </thead>
          <tbody>
            {pool.sites.map(site => {
              const price = priceFor(pool.prices, site.name);
              return (
                <tr key={site.name} data-testid="fairshare-site" data-site={site.name}>
                  <td>{site.name}</td>
                  <td>
                    {site.free_cpus} / {site.cpus}
                  </td>
                  <td>{price ? formatPerHour(price.cpu_second, 'CPU') : '—'}</td>
                  <td title={site.carbon_source ?? undefined}>
                    {site.carbon_intensity === null
                      ? '—'
                      : `${Math.round(site.carbon_intensity)} g/kWh`}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
