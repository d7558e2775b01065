/**
 * jupyter-fairshare's JupyterLab extension: a left-area sidebar with the pool, your
 * quota and your jobs live; a status bar item; commands to open it and cancel a job.
 */

import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  InputDialog,
  Notification
} from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { NotebookPanel } from '@jupyterlab/notebook';
import { IStatusBar } from '@jupyterlab/statusbar';

import { describeError } from './apierror';
import { ServerApi } from './api';
import { jobLabel } from './components/JobRow';
import { connectEvents, eventsUrl } from './events';
import { fairshareIcon } from './icon';
import { FairshareStore } from './store';
import { Job } from './types';
import { SidebarWidget, StatusWidget } from './widgets';

const PLUGIN_ID = 'jupyter-fairshare:plugin';
const SIDEBAR_ID = 'jupyter-fairshare:sidebar';

namespace CommandIDs {
  export const open = 'fairshare:open';
  export const cancelJob = 'fairshare:cancel-job';
}

/** Open the job's notebook and, when its cell is known, bring that cell into view. */
async function openJob(docManager: IDocumentManager, job: Job): Promise<void> {
  if (!job.notebook) {
    return;
  }
  const widget = docManager.openOrReveal(job.notebook);
  if (!widget) {
    Notification.error(
      `${job.notebook} could not be opened: it may have been moved or deleted.`,
      { autoClose: 5000 }
    );
    return;
  }
  if (!job.cell || !(widget instanceof NotebookPanel)) {
    return;
  }
  await widget.context.ready;
  await widget.revealed;
  const notebook = widget.content;
  const index = notebook.widgets.findIndex(cell => cell.model.id === job.cell);
  if (index < 0) {
    Notification.warning(
      `The cell of ${jobLabel(job)} is no longer in ${job.notebook}.`,
      { autoClose: 5000 }
    );
    return;
  }
  notebook.activeCellIndex = index;
  await notebook.scrollToCell(notebook.widgets[index], 'center');
}

/** Ask which active job to cancel, then cancel it and say what happened. */
async function cancelJob(store: FairshareStore): Promise<void> {
  await store.refresh();
  const jobs = store.activeJobs;
  if (jobs.length === 0) {
    Notification.info('You have no queued or running job to cancel.', {
      autoClose: 4000
    });
    return;
  }
  const labels = jobs.map(job => `${jobLabel(job)} (${job.state}, ${job.id})`);
  const answer = await InputDialog.getItem({
    title: 'Cancel a fair-share job',
    label: 'Which job? A running job is stopped and billed up to now.',
    items: labels,
    okLabel: 'Cancel the job',
    cancelLabel: 'Keep it'
  });
  if (!answer.button.accept || answer.value === null) {
    return;
  }
  const job = jobs[labels.indexOf(answer.value)];
  if (!job) {
    return;
  }
  try {
    await store.cancel(job.id);
    Notification.success(`${jobLabel(job)} is cancelled.`, { autoClose: 4000 });
  } catch (error) {
    Notification.error(`${jobLabel(job)} was not cancelled: ${describeError(error)}`);
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'The fair-share pool, your quota and your jobs, live, in a sidebar.',
  autoStart: true,
  requires: [IDocumentManager],
  optional: [ICommandPalette, IStatusBar, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    docManager: IDocumentManager,
    palette: ICommandPalette | null,
    statusBar: IStatusBar | null,
    restorer: ILayoutRestorer | null
  ) => {
    const api = new ServerApi();
    const url = eventsUrl(api.settings.baseUrl, PageConfig.getToken());
    const store = new FairshareStore(api, handlers => connectEvents(url, handlers));

    const sidebar = new SidebarWidget(store, job => void openJob(docManager, job));
    sidebar.id = SIDEBAR_ID;
    sidebar.title.icon = fairshareIcon;
    sidebar.title.caption = 'Fair-share: pool, quota and jobs';
    app.shell.add(sidebar, 'left', { rank: 900 });
    restorer?.add(sidebar, SIDEBAR_ID);

    app.commands.addCommand(CommandIDs.open, {
      label: 'Fair-share: Open the sidebar',
      icon: fairshareIcon,
      execute: () => app.shell.activateById(SIDEBAR_ID)
    });
    app.commands.addCommand(CommandIDs.cancelJob, {
      label: 'Fair-share: Cancel a job',
      execute: () => cancelJob(store)
    });
    if (palette) {
      palette.addItem({ command: CommandIDs.open, category: 'Fair-share' });
      palette.addItem({ command: CommandIDs.cancelJob, category: 'Fair-share' });
    }

    if (statusBar) {
      statusBar.registerStatusItem(PLUGIN_ID, {
        item: new StatusWidget(store, () =>
          void app.commands.execute(CommandIDs.open)
        ),
        align: 'left',
        rank: 900
      });
    }

    void app.restored.then(() => store.start());
  }
};

export default plugin;
