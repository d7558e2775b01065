import { LabIcon } from '@jupyterlab/ui-components';

/** A pie cut into unequal shares: the pool, shared fairly. */
const svgstr = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M11 2.05A10 10 0 1 0 21.95 13H11z"/>
    <path d="M13 2.05V11h8.95A10 10 0 0 0 13 2.05z" opacity="0.6"/>
  </g>
</svg>`;

export const fairshareIcon = new LabIcon({
  name: 'jupyter-fairshare:pool',
  svgstr
});
