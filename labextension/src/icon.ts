import { LabIcon } from '@jupyterlab/ui-components';

/** A Salesforce-like cloud, in Salesforce blue (readable on light and dark themes). */
const SALESFORCE_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g fill="#00A1E0">
    <circle cx="6.6" cy="13.6" r="3.6"/>
    <circle cx="10.6" cy="9.4" r="3.9"/>
    <circle cx="15.9" cy="9.9" r="3.7"/>
    <circle cx="19" cy="14.2" r="3.6"/>
    <circle cx="12.6" cy="15.2" r="3.9"/>
  </g>
</svg>`;

export const salesforceIcon = new LabIcon({
  name: 'ak-salesforce-nb:salesforce',
  svgstr: SALESFORCE_SVG
});
