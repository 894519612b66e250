// A tiny History-API router. Pages are functions that render into a root
// element and return a cleanup (stop timers, close connections) that runs
// when the user navigates away.

export type Cleanup = () => void;
export type Page = (root: HTMLElement, params: Record<string, string>, query: URLSearchParams) => Cleanup | void;

interface Route {
  re: RegExp;
  keys: string[];
  page: Page;
}

export class Router {
  private routes: Route[] = [];
  private cleanup: Cleanup | void = undefined;

  constructor(
    private root: HTMLElement,
    private notFound: Page,
  ) {
    window.addEventListener('popstate', () => this.render());
    document.addEventListener('click', (e) => this.onClick(e));
  }

  // add registers a pattern such as "/gig/:id".
  add(pattern: string, page: Page): this {
    const keys: string[] = [];
    const src = pattern.replace(/:[a-zA-Z]+/g, (m) => {
      keys.push(m.slice(1));
      return '([^/]+)';
    });
    this.routes.push({ re: new RegExp(`^${src}/?$`), keys, page });
    return this;
  }

  go(path: string, replace = false): void {
    if (replace) history.replaceState(null, '', path);
    else history.pushState(null, '', path);
    this.render();
  }

  render(): void {
    if (this.cleanup) {
      try {
        this.cleanup();
      } catch (err) {
        console.error(err);
      }
    }
    this.cleanup = undefined;
    const path = location.pathname;
    const query = new URLSearchParams(location.search);
    this.root.replaceChildren();
    window.scrollTo(0, 0);
    for (const r of this.routes) {
      const m = r.re.exec(path);
      if (!m) continue;
      const params: Record<string, string> = {};
      r.keys.forEach((k, i) => (params[k] = decodeURIComponent(m[i + 1])));
      this.cleanup = r.page(this.root, params, query);
      this.markNav(path);
      return;
    }
    this.cleanup = this.notFound(this.root, {}, query);
    this.markNav(path);
  }

  private markNav(path: string): void {
    document.querySelectorAll<HTMLAnchorElement>('header nav a').forEach((a) => {
      const href = a.getAttribute('href') || '';
      if (href === path) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    });
  }

  // Same-origin links navigate without reloading.
  private onClick(e: MouseEvent): void {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = (e.target as Element | null)?.closest?.('a');
    if (!a || a.target || a.hasAttribute('download')) return;
    const href = a.getAttribute('href');
    if (!href || !href.startsWith('/') || href.startsWith('//')) return;
    if (/^\/(api|whep|whip|live)\//.test(href)) return;
    e.preventDefault();
    if (href !== location.pathname + location.search) this.go(href);
  }
}

// navigate moves to path from anywhere (pages do not hold the router): the
// router listens for popstate and renders.
export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  window.dispatchEvent(new PopStateEvent('popstate'));
}
