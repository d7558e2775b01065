import * as React from 'react';

export type NoticeKind = 'loading' | 'empty' | 'error';

export interface NoticeProps {
  kind: NoticeKind;
  title: string;
  /** What to do about it. */
  children?: React.ReactNode;
  action?: { label: string; onClick: () => void };
}

/** A designed empty, loading or error state: what is happening and what to do. */
export function Notice({ kind, title, children, action }: NoticeProps): JSX.Element {
  return (
    <div
      className={`jp-Fairshare-notice jp-Fairshare-notice-${kind}`}
      data-testid={`fairshare-${kind}`}
      role={kind === 'error' ? 'alert' : 'status'}
      aria-busy={kind === 'loading'}
    >
      <div className="jp-Fairshare-notice-title">{title}</div>
      {children && <div className="jp-Fairshare-notice-body">{children}</div>}
      {action && (
        <button
          className="jp-Button jp-mod-styled jp-mod-accept jp-Fairshare-notice-action"
          onClick={action.onClick}
        >
          {action.label}
        </button>
      )}
    </div>
  );
}
