// URL routes of the single-page application. Every page has a stable,
// shareable URL:
//
//   /                                             study browser (search in the query string)
//   /viewer/studies/{study}                       a study, first series
//   /viewer/studies/{study}/series/{series}       a series, first image
//   /viewer/studies/{study}/series/{series}/instances/{sop}[/frames/{n}]
//                                                 one image (frame n of a multi-frame)

export type Route =
  | { page: 'browser'; query: URLSearchParams }
  | { page: 'viewer'; study: string; series?: string; instance?: string; frame?: number }
  | { page: 'notfound'; path: string };

/** parseRoute maps a location to a route. */
export function parseRoute(loc: { pathname: string; search: string }): Route {
  const parts = loc.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return { page: 'browser', query: new URLSearchParams(loc.search) };
  if (parts[0] === 'viewer' && parts[1] === 'studies' && parts[2]) {
    const r: Route = { page: 'viewer', study: parts[2] };
    if (parts[3] === 'series' && parts[4]) {
      r.series = parts[4];
      if (parts[5] === 'instances' && parts[6]) {
        r.instance = parts[6];
        if (parts[7] === 'frames' && parts[8]) {
          const n = Number(parts[8]);
          if (Number.isInteger(n) && n >= 1) r.frame = n;
        }
      }
    }
    return r;
  }
  return { page: 'notfound', path: loc.pathname };
}

/** viewerURL builds the deep link of a study, series, image or frame. */
export function viewerURL(study: string, series?: string, instance?: string, frame?: number): string {
  let u = `/viewer/studies/${encodeURIComponent(study)}`;
  if (series) {
    u += `/series/${encodeURIComponent(series)}`;
    if (instance) {
      u += `/instances/${encodeURIComponent(instance)}`;
      if (frame && frame > 1) u += `/frames/${frame}`;
    }
  }
  return u;
}

/** The last study search, so the viewer's "Studies" link goes back to it. */
const LAST_SEARCH_KEY = 'lightbox.lastSearch';

/** rememberSearch records the study browser URL (path and query). */
export function rememberSearch(url: string): void {
  try {
    sessionStorage.setItem(LAST_SEARCH_KEY, url);
  } catch {
    /* storage disabled */
  }
}

/** lastSearch returns the remembered study browser URL, or "/". */
export function lastSearch(): string {
  try {
    return sessionStorage.getItem(LAST_SEARCH_KEY) || '/';
  } catch {
    return '/';
  }
}
