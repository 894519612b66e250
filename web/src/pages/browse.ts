// Browse: live shows first, then upcoming ones by day with a countdown.
import { ApiError, listGigs, ticketed, type Gig } from '../lib/api';
import { h, icon, icons, replace } from '../lib/dom';
import { categories, categoryClass, categoryLabel, countdown, dayKey, formatPrice, formatWhen, plural } from '../lib/format';
import { navigate, type Page } from '../lib/router';

const refreshMs = 15000;

export const browsePage: Page = (root, _params, query) => {
  document.title = 'BookMyGig · live shows, real time';
  let category = query.get('category') || '';
  let cursor = '';
  let upcoming: Gig[] = [];
  let stopped = false;
  let pagedMore = false;

  const chips = h('div', { class: 'chips', role: 'group', 'aria-label': 'Filter by category' });
  const liveSec = h('section', { class: 'section', 'aria-labelledby': 'live-h' });
  const upSec = h('section', { class: 'section', 'aria-labelledby': 'up-h' });
  const more = h('button', { class: 'btn btn-ghost', type: 'button', hidden: true, onclick: () => loadUpcoming(true) }, 'Show more');

  const spotlight = h('div', { class: 'hero-side' });
  root.append(
    h('section', { class: 'hero' },
      h('div', { class: 'hero-text' },
        h('p', { class: 'eyebrow' }, 'Live comedy · dance · plays · music · workshops'),
        h('h1', null, 'Front-row seats, ', h('span', { class: 'accent' }, 'from anywhere.')),
        h('p', { class: 'lead' }, 'Watch creators perform live with under a second of delay, and talk with the crowd while it happens.'),
      ),
      spotlight,
    ),
    chips,
    liveSec,
    upSec,
    h('div', { class: 'center' }, more),
  );

  function renderChips() {
    const opts = [['', 'All'], ...categories.map((c) => [c, c])];
    replace(
      chips,
      opts.map(([v, label]) =>
        h('button', {
          type: 'button',
          class: 'chip',
          'aria-pressed': String(category.toLowerCase() === v.toLowerCase()),
          onclick: () => {
            category = v;
            navigate(v ? `/?category=${encodeURIComponent(v)}` : '/', true);
          },
        }, label),
      ),
    );
  }

  // The hero's side: the most-watched live show, or an invitation to perform.
  function renderSpotlight(gigs: Gig[]) {
    const top = [...gigs].sort((a, b) => (b.viewers || 0) - (a.viewers || 0))[0];
    if (!top) {
      replace(spotlight,
        h('div', { class: 'spot spot-invite' },
          h('p', { class: 'eyebrow' }, 'For performers'),
          h('p', { class: 'spot-title' }, 'Your stage, your audience, no delay.'),
          h('p', { class: 'muted' }, 'List a show, then go live from OBS or straight from your browser.'),
          h('a', { class: 'btn btn-primary', href: '/new' }, 'Host your own gig'),
        ),
      );
      return;
    }
    replace(spotlight,
      h('a', { class: `spot ${categoryClass(top.category)}`, href: `/gig/${encodeURIComponent(top.id)}` },
        h('span', { class: 'badge badge-live' }, h('span', { class: 'dot-live', 'aria-hidden': 'true' }), 'LIVE'),
        h('p', { class: 'eyebrow' }, `Spotlight · ${categoryLabel(top.category)}`),
        h('p', { class: 'spot-title' }, top.title),
        h('p', { class: 'spot-by' }, `by ${top.creator_name} · ${plural(top.viewers || 0, 'viewer')} watching`),
        h('span', { class: 'btn btn-primary' }, 'Watch now'),
      ),
    );
  }

  function renderLive(gigs: Gig[]) {
    renderSpotlight(gigs);
    replace(liveSec,
      h('div', { class: 'section-head' },
        h('h2', { id: 'live-h' }, h('span', { class: 'dot-live', 'aria-hidden': 'true' }), 'Live now'),
        gigs.length ? h('span', { class: 'muted' }, plural(gigs.length, 'show')) : null,
      ),
      gigs.length
        ? h('div', { class: 'grid' }, gigs.map((g) => card(g)))
        : h('div', { class: 'empty' },
            h('p', null, category ? `No ${categoryLabel(category)} show is live right now.` : 'Nobody is live right now.'),
            h('p', { class: 'muted' }, 'Pick an upcoming show below: its page counts down and starts playing by itself when the creator goes live.'),
          ),
    );
  }

  function renderUpcoming() {
    const groups = new Map<string, Gig[]>();
    for (const g of upcoming) {
      const k = dayKey(g.starts_at);
      if (!groups.has(k)) groups.set(k, []);
      groups.get(k)!.push(g);
    }
    replace(upSec,
      h('div', { class: 'section-head' }, h('h2', { id: 'up-h' }, 'Coming up')),
      upcoming.length
        ? [...groups].map(([day, gs]) =>
            h('div', { class: 'day' }, h('h3', { class: 'day-h' }, day), h('div', { class: 'grid' }, gs.map((g) => card(g)))),
          )
        : h('div', { class: 'empty' },
            h('p', null, category ? `No ${categoryLabel(category)} gigs are scheduled yet.` : 'No gigs are scheduled yet.'),
            h('p', { class: 'muted' }, 'Are you a performer? List a gig: it takes a minute, and you can stream from OBS or straight from your browser.'),
            h('a', { class: 'btn btn-primary', href: '/new' }, 'List a gig'),
          ),
    );
    more.hidden = !cursor;
  }

  function renderError(err: unknown) {
    const msg = err instanceof ApiError ? err.message : 'Something went wrong loading the gigs.';
    replace(liveSec, h('div', { class: 'empty error', role: 'alert' }, h('p', null, msg), h('button', { class: 'btn', type: 'button', onclick: () => load() }, 'Try again')));
    replace(upSec);
  }

  async function loadUpcoming(next: boolean) {
    // Shows that were due long ago and never went live are stale: skip them.
    const from = new Date(Date.now() - 12 * 3600e3).toISOString().replace(/\.\d+Z$/, 'Z');
    const res = await listGigs({ status: 'scheduled', category: category || undefined, from, cursor: next ? cursor : undefined, limit: 24 });
    upcoming = next ? [...upcoming, ...(res.gigs || [])] : res.gigs || [];
    pagedMore = next;
    cursor = res.next_cursor || '';
    if (!stopped) renderUpcoming();
  }

  async function load() {
    try {
      const live = await listGigs({ status: 'live', category: category || undefined, limit: 48 });
      if (stopped) return;
      renderLive(live.gigs || []);
      await loadUpcoming(false);
    } catch (err) {
      if (!stopped) renderError(err);
    }
  }

  renderChips();
  replace(liveSec, h('div', { class: 'loading', 'aria-live': 'polite' }, 'Loading shows…'));
  load();

  // Countdowns tick every second; the lists refresh in the background.
  const tick = window.setInterval(() => {
    root.querySelectorAll<HTMLElement>('[data-countdown]').forEach((el) => {
      el.textContent = `in ${countdown(el.dataset.countdown!)}`;
    });
  }, 1000);
  // Not while the visitor is on a card (keyboard focus would be lost) or
  // has paged further down the list.
  const refresh = window.setInterval(() => {
    const focused = liveSec.contains(document.activeElement) || upSec.contains(document.activeElement);
    if (!document.hidden && !focused && !pagedMore) load();
  }, refreshMs);

  return () => {
    stopped = true;
    clearInterval(tick);
    clearInterval(refresh);
  };
};

// card renders one gig as a link to its watch page.
export function card(g: Gig): HTMLElement {
  const live = g.status === 'live';
  return h('a', { class: `card ${categoryClass(g.category)}`, href: `/gig/${encodeURIComponent(g.id)}`, 'data-gig': g.id, 'data-status': g.status },
    h('div', { class: 'card-art' },
      h('span', { class: 'card-cat' }, categoryLabel(g.category)),
      h('span', { class: 'card-initial', 'aria-hidden': 'true' }, (g.title.trim()[0] || '★').toUpperCase()),
      live
        ? h('span', { class: 'badge badge-live' }, h('span', { class: 'dot-live', 'aria-hidden': 'true' }), 'LIVE')
        : null,
      live
        ? h('span', { class: 'badge badge-viewers', title: 'watching now' }, icon(icons.people), String(g.viewers || 0))
        : null,
      g.status === 'scheduled'
        ? h('span', { class: 'badge badge-soon' }, icon(icons.clock), h('span', { 'data-countdown': g.starts_at }, `in ${countdown(g.starts_at)}`))
        : null,
      seatsBadge(g),
    ),
    h('div', { class: 'card-body' },
      h('h3', { class: 'card-title' }, g.title),
      h('p', { class: 'card-creator' }, `by ${g.creator_name}`),
      h('div', { class: 'card-meta' },
        live
          ? h('span', { class: 'live-text' }, `${plural(g.viewers || 0, 'viewer')} watching`)
          : g.status === 'ended'
            ? h('span', { class: 'muted' }, 'Ended')
            : h('time', { datetime: g.starts_at }, formatWhen(g.starts_at)),
        h('span', { class: 'card-price' },
          ticketed(g) ? h('span', { class: 'tag-ticket', 'data-testid': 'ticketed' }, 'Ticketed') : null,
          h('span', { class: 'price' }, formatPrice(g.price_minor, g.currency)),
        ),
      ),
    ),
  );
}

// seatsBadge: "Sold out" or "12 seats left" on gigs with a capacity.
function seatsBadge(g: Gig): HTMLElement | null {
  if (typeof g.seats_left !== 'number' || g.status === 'ended') return null;
  if (g.seats_left === 0) return h('span', { class: 'badge badge-seats badge-soldout', 'data-testid': 'seats' }, 'Sold out');
  return h('span', { class: 'badge badge-seats', 'data-testid': 'seats' }, `${plural(g.seats_left, 'seat')} left`);
}
