// The studio's Tickets panel (manage token): seats sold and revenue, the
// ticket list with Revoke and Refund, and comp tickets whose token is shown
// once with a watch link. Polls while open so new bookings show up.
import { ApiError, type Gig } from '../lib/api';
import { h, replace } from '../lib/dom';
import { formatPrice, fromMinor, plural, toMinor } from '../lib/format';
import { compTicket, listTickets, refundTicket, revokeTicket, type Ticket, type TicketList } from '../lib/tickets';
import { copyRow } from './stream_settings';

const pollMs = 10000;

export const paymentsOffText =
  'Paid booking is off: start the server with --stripe-secret-key and --stripe-webhook-secret (or BMG_STRIPE_SECRET_KEY / BMG_STRIPE_WEBHOOK_SECRET) and register /api/payments/stripe/webhook in Stripe';

export function ticketsPanel(host: HTMLElement, gigId: string, token: string, gig: () => Gig | null): { refresh(): void; close(): void } {
  let stopped = false;
  let timer = 0;
  let data: TicketList | null = null;

  const summary = h('span', { class: 'muted', 'data-testid': 'tickets-summary' });
  const notice = h('div', { class: 'callout callout-warn', role: 'note', 'data-testid': 'payments-off', hidden: true });
  const listHost = h('div', { class: 'tickets-list' });
  const listErr = h('p', { class: 'field-error', role: 'alert' });
  const compOut = h('div', { class: 'comp-out', 'data-testid': 'comp-out' });

  // Comp ticket: any price (0 = free), issued without payment.
  const cName = h('input', { id: 'comp-name', type: 'text', maxlength: 80, autocomplete: 'off' });
  const cEmail = h('input', { id: 'comp-email', type: 'email', maxlength: 254, autocomplete: 'off' });
  const cPrice = h('input', { id: 'comp-price', type: 'number', min: 0, step: 'any', inputmode: 'decimal', value: '0' });
  const cErr = h('div', { class: 'form-error', role: 'alert' });
  const priceLabel = h('label', { for: 'comp-price' }, 'Price');
  const cBtn = h('button', { class: 'btn btn-primary', type: 'submit', 'data-testid': 'comp-issue' }, 'Issue comp ticket');
  const compForm = h('form', { class: 'comp-form', novalidate: true },
    h('div', { class: 'comp-grid' },
      h('div', { class: 'field' }, h('label', { for: 'comp-name' }, 'Name'), cName),
      h('div', { class: 'field' }, h('label', { for: 'comp-email' }, 'Email'), cEmail),
      h('div', { class: 'field' }, priceLabel, cPrice),
    ),
    cErr,
    h('div', { class: 'form-actions' }, cBtn, h('span', { class: 'muted small' }, 'For guests, press and prizes: no payment is taken; the price only counts in revenue.')),
  );
  compForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    cErr.textContent = '';
    const currency = data?.currency || gig()?.currency || 'USD';
    const price = toMinor(cPrice.value || '0', currency);
    if (!cName.value.trim() || !cEmail.value.trim()) {
      cErr.textContent = 'Type the guest’s name and email.';
      return;
    }
    if (!Number.isFinite(price) || price < 0) {
      cErr.textContent = 'Type a price of 0 or more.';
      return;
    }
    cBtn.disabled = true;
    try {
      const b = await compTicket(gigId, token, { name: cName.value.trim(), email: cEmail.value.trim(), price_minor: price });
      showComp(b.ticket?.name || cName.value.trim(), b.ticket_token);
      cName.value = cEmail.value = '';
      cPrice.value = '0';
      load();
    } catch (err) {
      cErr.textContent = err instanceof ApiError ? err.message : 'Could not issue the ticket.';
    } finally {
      cBtn.disabled = false;
    }
  });

  // The token is shown this once; the server keeps only its hash.
  function showComp(name: string, tk: string) {
    const link = `${location.origin}/gig/${encodeURIComponent(gigId)}?ticket=${encodeURIComponent(tk)}`;
    replace(compOut,
      h('div', { class: 'callout comp-callout' },
        h('h3', null, `Ticket for ${name}`),
        h('p', { class: 'muted small' }, 'Send the link (or the token) to your guest now: it is shown only this once. Opening the link keeps the ticket in their browser.'),
        copyRow('Ticket token', tk, { secret: true, name: 'comp_token' }),
        copyRow('Watch link', link, { secret: true, name: 'comp_link' }),
        h('button', { class: 'btn btn-sm btn-ghost', type: 'button', onclick: () => replace(compOut) }, 'Done'),
      ),
    );
  }

  replace(host,
    h('div', { class: 'panel-head' }, h('h2', null, 'Tickets'), summary),
    notice,
    listHost,
    listErr,
    h('h3', { class: 'comp-h' }, 'Comp ticket'),
    compForm,
    compOut,
  );

  function render(d: TicketList) {
    const g = gig();
    const cur = d.currency || g?.currency || 'USD';
    priceLabel.textContent = `Price (${cur})`;
    const seats = d.capacity ? `${d.sold} / ${plural(d.capacity, 'seat')} sold` : `${plural(d.sold, 'ticket')} sold`;
    summary.textContent = `${seats} · ${formatMoney(d.revenue_minor, cur)} revenue`;
    const priced = (g?.price_minor || 0) > 0;
    notice.hidden = d.payments_enabled || !priced;
    notice.textContent = notice.hidden ? '' : paymentsOffText;
    if (!d.tickets.length) {
      replace(listHost, h('p', { class: 'muted', 'data-testid': 'tickets-empty' }, 'No tickets yet. Bookings show up here.'));
      return;
    }
    replace(listHost,
      h('div', { class: 'table-wrap' },
        h('table', { class: 'tickets', 'data-testid': 'tickets' },
          h('thead', null, h('tr', null, ['Name', 'Email', 'Status', 'Kind', 'Paid', ''].map((c) => h('th', { scope: 'col' }, c)))),
          h('tbody', null, d.tickets.map((t) => row(t))),
        ),
      ),
    );
  }

  function row(t: Ticket): HTMLElement {
    const valid = t.status === 'valid';
    const act = (label: string, what: 'revoke' | 'refund', danger: boolean) =>
      h('button', {
        class: `btn btn-xs${danger ? ' btn-danger' : ''}`,
        type: 'button',
        'data-action': what,
        onclick: async (e: MouseEvent) => {
          const q = what === 'refund'
            ? `Refund ${formatMoney(t.paid_minor, t.currency)} to ${t.name}? Their ticket stops working at once.`
            : `Revoke ${t.name}’s ticket? It stops working at once (no money is returned).`;
          if (!confirm(q)) return;
          const b = e.currentTarget as HTMLButtonElement;
          b.disabled = true;
          listErr.textContent = '';
          try {
            await (what === 'refund' ? refundTicket : revokeTicket)(gigId, t.id, token);
            load();
          } catch (err) {
            b.disabled = false;
            listErr.textContent = err instanceof ApiError ? err.message : `Could not ${what} the ticket.`;
          }
        },
      }, label);
    return h('tr', { 'data-ticket': t.id, 'data-status': t.status },
      h('td', null, t.name),
      h('td', { class: 'td-email' }, t.email),
      h('td', null, h('span', { class: `ticket-status ticket-${t.status}` }, t.status)),
      h('td', null, t.kind),
      h('td', { class: 'td-num' }, t.paid_minor ? formatMoney(t.paid_minor, t.currency) : '—'),
      h('td', { class: 'td-actions' },
        valid ? act('Revoke', 'revoke', false) : null,
        valid && t.kind === 'paid' ? act('Refund', 'refund', true) : null,
      ),
    );
  }

  async function load() {
    clearTimeout(timer);
    try {
      const d = await listTickets(gigId, token);
      if (stopped) return;
      data = d;
      render(d);
    } catch (err) {
      if (stopped) return;
      replace(listHost, h('p', { class: 'muted' }, err instanceof ApiError ? err.message : 'The tickets are unavailable right now.'));
    }
    if (!stopped) timer = window.setTimeout(load, pollMs);
  }
  load();

  return {
    refresh: load,
    close() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

// formatMoney shows an amount in minor units; 0 is "$0.00", not "Free".
function formatMoney(minor: number, currency: string): string {
  if (minor) return formatPrice(minor, currency);
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency: currency || 'USD' }).format(0);
  } catch {
    return `${fromMinor(0, currency)} ${currency}`;
  }
}
