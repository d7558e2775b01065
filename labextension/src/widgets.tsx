/**
 * The JupyterLab widgets: the sidebar panel and the status bar item, each a thin
 * ReactWidget over the store and a component that only renders.
 */

import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { JobActions } from './components/JobRow';
import { Sidebar } from './components/Sidebar';
import { StatusItem } from './components/StatusItem';
import { useNow } from './components/useNow';
import { countActive } from './reducer';
import { FairshareStore, SidebarState } from './store';

function useStoreState(store: FairshareStore): SidebarState {
  const [state, setState] = React.useState(store.state);
  React.useEffect(() => {
    setState(store.state);
    return store.subscribe(setState);
  }, [store]);
  return state;
}

function ConnectedSidebar({
  store,
  open
}: {
  store: FairshareStore;
  open: JobActions['open'];
}): JSX.Element {
  const state = useStoreState(store);
  const { running, queued } = countActive(state.jobs ?? []);
  const now = useNow(running + queued > 0);
  const cancel = React.useCallback((id: string) => store.cancel(id), [store]);
  const loadWhy = React.useCallback((id: string) => store.why(id), [store]);
  const retry = React.useCallback(() => void store.refresh(), [store]);
  return (
    <Sidebar
      state={state}
      now={now}
      onRetry={retry}
      cancel={cancel}
      open={open}
      loadWhy={loadWhy}
    />
  );
}

export class SidebarWidget extends ReactWidget {
  constructor(
    private readonly store: FairshareStore,
    private readonly openJob: JobActions['open']
  ) {
    super();
    this.addClass('jp-Fairshare-panel');
  }

  render(): JSX.Element {
    return <ConnectedSidebar store={this.store} open={this.openJob} />;
  }
}

function ConnectedStatus({
  store,
  onClick
}: {
  store: FairshareStore;
  onClick: () => void;
}): JSX.Element {
  const state = useStoreState(store);
  const { running, queued } = countActive(state.jobs ?? []);
  return <StatusItem running={running} queued={queued} onClick={onClick} />;
}

export class StatusWidget extends ReactWidget {
  constructor(
    private readonly store: FairshareStore,
    private readonly onOpen: () => void
  ) {
    super();
    this.addClass('jp-Fairshare-statusItem');
  }

  render(): JSX.Element {
    return <ConnectedStatus store={this.store} onClick={this.onOpen} />;
  }
}
