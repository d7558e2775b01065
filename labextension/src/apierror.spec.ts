import { ApiError, describeError, errorFromResponse } from './apierror';

describe('errorFromResponse', () => {
  it("keeps the server extension's sentence and the pool state", () => {
    const error = errorFromResponse(503, { message: 'No pool at http://x: start one.', state: 'unreachable' });
    expect(error).toBeInstanceOf(ApiError);
    expect(error.message).toBe('No pool at http://x: start one.');
    expect(error.state).toBe('unreachable');
  });

  it("falls back to the pool's detail, then to a sentence per status", () => {
    expect(errorFromResponse(404, { detail: 'No such job.' }).message).toBe('No such job.');
    expect(errorFromResponse(404, null).message).toMatch(/server extension enable jupyter_fairshare/);
    expect(errorFromResponse(403, 'x').message).toMatch(/permission/);
    expect(errorFromResponse(500, null).message).toMatch(/HTTP 500/);
  });

  it('describes anything thrown', () => {
    expect(describeError(new Error('boom'))).toBe('boom');
    expect(describeError(42)).toMatch(/retry/);
  });
});
