// Lightbox viewer entry point: a small client-side router over two pages,
// the study browser (loaded with the page) and the image viewer (loaded on
// demand with Cornerstone3D, its tools and codecs).
import './style.css';
import './objects.css';
import { parseRoute, rememberSearch, type Route } from './router';
import { mountBrowser } from './browser';
import { h, clear } from './dom';

interface Page {
  destroy(): void;
  update?(route: Route): boolean;
}

const root = document.getElementById('app')!;
let page: Page | undefined;
let renderSeq = 0;

/** navigate goes to an in-app URL, adding a history entry. */
function navigate(url: string): void {
  const u = new URL(url, window.location.href);
  if (u.origin !== window.location.origin) {
    window.location.assign(u.href);
    return;
  }
  history.pushState(null, '', u.pathname + u.search + u.hash);
  void render();
}

async function render(): Promise<void> {
  const seq = ++renderSeq;
  const route = parseRoute(window.location);
  if (page?.update?.(route)) return;
  page?.destroy();
  page = undefined;
  switch (route.page) {
    case 'browser': {
      rememberSearch(window.location.pathname + window.location.search);
      document.title = 'Studies — Lightbox';
      const destroy = mountBrowser(root, route.query, navigate);
      page = { destroy };
      return;
    }
    case 'viewer': {
      performance.clearMarks();
      performance.mark('lightbox:open-viewer');
      clear(root);
      root.append(h('div', { class: 'loading' }, 'Loading viewer…'));
      document.title = 'Viewer — Lightbox';
      try {
        const [{ mountViewer }, { mountViewerExtras }] = await Promise.all([import('./viewer/index'), import('./objects/index')]);
        if (seq !== renderSeq) return;
        const p = await mountViewer(root, route);
        if (seq !== renderSeq) {
          p.destroy();
          return;
        }
        // The extras (documents, tags, print, attach) must never take the
        // image viewer down with them.
        let extras: ReturnType<typeof mountViewerExtras> | undefined;
        try {
          extras = mountViewerExtras(root, route);
        } catch (err) {
          console.error('viewer extras failed to start:', err);
        }
        page = {
          destroy() {
            extras?.destroy();
            p.destroy();
          },
          update(r: Route) {
            if (!p.update(r)) return false;
            if (r.page === 'viewer') extras?.update(r);
            return true;
          },
        };
      } catch (err) {
        clear(root);
        root.append(h('div', { class: 'fatal' }, `The viewer failed to start: ${err instanceof Error ? err.message : String(err)}`));
        throw err;
      }
      return;
    }
    default:
      clear(root);
      root.append(
        h('div', { class: 'fatal' }, 'No such page: ', h('code', {}, route.path), '. ', h('a', { href: '/', 'data-link': true }, 'Go to the studies.')),
      );
  }
}

// In-app links (<a data-link>) navigate without reloading the page; a
// modified click (new tab, new window) is left to the browser.
document.addEventListener('click', (ev) => {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const a = (ev.target as Element | null)?.closest?.('a[data-link]') as HTMLAnchorElement | null;
  if (!a || a.target) return;
  ev.preventDefault();
  navigate(a.href);
});

window.addEventListener('popstate', () => void render());
void render();
