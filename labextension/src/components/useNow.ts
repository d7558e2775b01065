import * as React from 'react';

/**
 * The time in epoch seconds, ticking every `intervalMs` while `ticking`: only the
 * clock moves (elapsed times, "in ~2 min"); nothing is fetched.
 */
export function useNow(ticking: boolean, intervalMs = 1000): number {
  const [now, setNow] = React.useState(() => Date.now() / 1000);
  React.useEffect(() => {
    setNow(Date.now() / 1000);
    if (!ticking) {
      return;
    }
    const timer = setInterval(() => setNow(Date.now() / 1000), intervalMs);
    return () => clearInterval(timer);
  }, [ticking, intervalMs]);
  return now;
}
