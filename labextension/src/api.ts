/**
 * The server extension's REST API, called through `ServerConnection` so the server's
 * base URL, authentication and XSRF protection are handled as for any JupyterLab call.
 */

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { ApiError, errorFromResponse } from './apierror';
import { FairshareApi } from './store';
import { Account, Job, PoolInfo, Status, Why } from './types';

export class ServerApi implements FairshareApi {
  constructor(
    readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  status(): Promise<Status> {
    return this.request<Status>('status');
  }

  pool(): Promise<PoolInfo> {
    return this.request<PoolInfo>('pool');
  }

  account(): Promise<Account> {
    return this.request<Account>('account');
  }

  async jobs(): Promise<Job[]> {
    return (await this.request<{ jobs: Job[] }>('jobs')).jobs;
  }

  why(id: string): Promise<Why> {
    return this.request<Why>(`jobs/${encodeURIComponent(id)}/why`);
  }

  cancel(id: string): Promise<Job> {
    return this.request<Job>(`jobs/${encodeURIComponent(id)}/cancel`, {
      method: 'POST'
    });
  }

  private async request<T>(path: string, init: RequestInit = {}): Promise<T> {
    const url = URLExt.join(this.settings.baseUrl, 'fairshare/api', path);
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this.settings);
    } catch (error) {
      throw new ApiError(
        'The Jupyter server did not answer: check that it is still running, then retry.',
        0
      );
    }
    const text = await response.text();
    let body: unknown = null;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = null;
      }
    }
    if (!response.ok) {
      throw errorFromResponse(response.status, body);
    }
    return body as T;
  }
}
