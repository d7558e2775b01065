import * as React from 'react';

export interface StatusItemProps {
  running: number;
  queued: number;
  onClick: () => void;
}

/** The status bar's "Fair-share: 1 running, 2 queued"; a click opens the sidebar. */
export function StatusItem({ running, queued, onClick }: StatusItemProps): JSX.Element {
  const text =
    running || queued ? `${running} running, ${queued} queued` : 'no active jobs';
  return (
    <button
      className="jp-Fairshare-status"
      data-testid="fairshare-statusbar"
      title="Open the fair-share sidebar"
      onClick={onClick}
    >
      Fair-share: {text}
    </button>
  );
}
