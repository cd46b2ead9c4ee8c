/**
 * Values read from the page (origin, PageConfig).
 */
import { PageConfig } from '@jupyterlab/coreutils';

import { describeCallbackUrls, ICallbackUrl } from './callbackUrl';

/** The callback URL(s) to register, computed from this page; recommended first. */
export function pageCallbackUrls(): ICallbackUrl[] {
  return describeCallbackUrls({
    origin: window.location.origin,
    baseUrl: PageConfig.getBaseUrl(),
    hubPrefix: PageConfig.getOption('hubPrefix'),
    hubHost: PageConfig.getOption('hubHost'),
    hubUser: PageConfig.getOption('hubUser')
  });
}
