// The watch page's door for ticketed gigs: it decides whether this browser
// may play (a stored ticket that the server confirms, or the creator's
// manage token), and otherwise shows "Book to watch" with the booking form,
// the payment confirmation after a checkout, "Sold out", or why a ticket
// stopped working. The page asks it again when playback stops, to tell
// "this ticket is now watching elsewhere" and "revoked" from a network drop.
import { ApiError, type Gig } from '../lib/api';
import { h, replace } from '../lib/dom';
import { formatPrice, plural } from '../lib/format';
import { loadSecrets } from '../lib/secrets';
import { bookTicket, deniedCode, forgetTicket, loadTicket, myTicket, saveTicket, type StoredTicket } from '../lib/tickets';

export type GateState = 'checking' | 'granted' | 'blocked' | 'elsewhere';

export interface GateEvents {
  // grant: play with this credential ('' when the gig turned out open) and
  // join the chat under name.
  grant(credential: string, name: string): void;
  // block: show the gate instead of the player; stop media and chat.
  block(): void;
  // elsewhere: the ticket now plays on another screen; stop retrying.
  elsewhere(): void;
}

type Notice = { tone: 'revoked' | 'info' | 'error'; title?: string; text: string };

const confirmEveryMs = 1000;
const confirmForMs = 60000;

export class TicketGate {
  state: GateState = 'checking';
  private gig: Gig;
  private stopped = false;
  private timer = 0;
  private checking = false;
  private lastCheck = 0;
  private credential = '';
  private viaManage = false;
  private seatsEl: HTMLElement | null = null;
  private shown = false; // the gate is on the page instead of the player

  constructor(
    private host: HTMLElement,
    gig: Gig,
    private screen: string,
    private booking: string | null,
    private ev: GateEvents,
  ) {
    this.gig = gig;
  }

  // start decides, from what this browser holds, whether the page may play.
  start(): void {
    const mt = loadSecrets(this.gig.id).manage_token;
    if (mt) {
      this.viaManage = true;
      this.grant(mt, this.gig.creator_name);
      return;
    }
    const t = loadTicket(this.gig.id);
    if (!t) {
      this.showBook(
        this.booking
          ? { tone: 'error', title: 'No ticket in this browser', text: 'This browser does not hold the ticket of that booking. Open the page in the browser you booked with, or book again.' }
          : undefined,
      );
      return;
    }
    if (this.booking) this.confirm(t, Date.now());
    else this.verify(t);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  // update takes a fresher copy of the gig (seats left).
  update(g: Gig): void {
    this.gig = g;
    if (this.seatsEl) this.seatsEl.textContent = this.seatsText();
  }

  // resume is "Watch here": this page takes the ticket back.
  resume(): void {
    if (this.state === 'elsewhere') this.state = 'granted';
  }

  // checkPlayback asks the server why playback stopped: the ticket playing
  // on another screen, or revoked. A network drop answers neither.
  async checkPlayback(): Promise<void> {
    if (this.state !== 'granted' || this.viaManage || !this.credential || this.checking) return;
    if (Date.now() - this.lastCheck < 1500) return;
    this.checking = true;
    this.lastCheck = Date.now();
    try {
      const r = await myTicket(this.gig.id, this.credential, this.screen);
      if (this.stopped || this.state !== 'granted') return;
      if (!r.pending && r.watching_elsewhere) {
        this.state = 'elsewhere';
        this.ev.elsewhere();
      }
    } catch (err) {
      const code = deniedCode(err);
      if (code) this.denied(code, err instanceof Error ? err.message : '');
    } finally {
      this.checking = false;
    }
  }

  // denied handles a refusal of the credential by the media server, the
  // chat or the API: the stored ticket is dropped and the form comes back.
  denied(code: string, _message: string): void {
    if (this.stopped || this.state === 'blocked') return;
    if (!this.viaManage) forgetTicket(this.gig.id);
    this.credential = '';
    this.viaManage = false;
    if (code === 'ticket_revoked') {
      this.showBook({ tone: 'revoked', title: 'Your ticket was revoked', text: 'The creator revoked (or refunded) your ticket, so it no longer plays here. You can book again.' });
    } else if (code === 'invalid_ticket') {
      this.showBook({ tone: 'error', title: 'This ticket does not work here', text: 'The ticket in this browser is not valid for this show. Book to get one.' });
    } else {
      this.showBook();
    }
  }

  private grant(credential: string, name: string): void {
    clearTimeout(this.timer);
    this.credential = credential;
    this.state = 'granted';
    this.seatsEl = null;
    this.shown = false;
    replace(this.host);
    this.ev.grant(credential, name);
  }

  // block moves to a state that shows the gate; the page swaps the player
  // for it the first time.
  private block(s: 'checking' | 'blocked'): void {
    this.state = s;
    if (!this.shown) {
      this.shown = true;
      this.ev.block();
    }
  }

  // verify checks a stored ticket before the page plays with it.
  private async verify(t: StoredTicket): Promise<void> {
    this.view('checking', h('div', { class: 'spinner', 'aria-hidden': 'true' }), h('p', null, 'Checking your ticket…'));
    try {
      const r = await myTicket(this.gig.id, t.token);
      if (this.stopped) return;
      if (r.pending) {
        this.showBook({
          tone: 'info',
          title: 'Payment not confirmed',
          text: 'Your earlier booking is waiting for its payment. If you paid, it starts playing here once the payment is confirmed; otherwise book again.',
        }, t);
        return;
      }
      saveTicket(this.gig.id, { token: t.token, name: r.ticket.name });
      this.grant(t.token, r.ticket.name);
    } catch (err) {
      if (this.stopped) return;
      const code = deniedCode(err);
      if (code) {
        this.denied(code, err instanceof Error ? err.message : '');
        return;
      }
      // The server is unreachable or busy: try again shortly.
      this.view('checking', h('div', { class: 'spinner', 'aria-hidden': 'true' }), h('p', null, 'Cannot check your ticket right now. Retrying…'));
      this.timer = window.setTimeout(() => this.verify(t), 3000);
    }
  }

  // confirm polls the ticket of a paid booking after the checkout until the
  // provider's confirmation reached the server.
  private async confirm(t: StoredTicket, since: number): Promise<void> {
    this.view('confirming',
      h('div', { class: 'spinner', 'aria-hidden': 'true' }),
      h('h2', null, 'Confirming your payment…'),
      h('p', { class: 'muted' }, 'This takes a few seconds after the checkout. The show starts here by itself.'),
    );
    let r;
    try {
      r = await myTicket(this.gig.id, t.token);
    } catch (err) {
      if (this.stopped) return;
      const code = deniedCode(err);
      if (code) {
        this.denied(code, err instanceof Error ? err.message : '');
        return;
      }
      r = null; // network: keep polling
    }
    if (this.stopped) return;
    if (r && !r.pending) {
      saveTicket(this.gig.id, { token: t.token, name: r.ticket.name });
      this.booking = null;
      dropQuery('booking');
      this.grant(t.token, r.ticket.name);
      return;
    }
    if (Date.now() - since < confirmForMs) {
      this.timer = window.setTimeout(() => this.confirm(t, since), confirmEveryMs);
      return;
    }
    this.view('confirm-timeout',
      h('h2', null, 'Payment not confirmed yet'),
      h('p', { class: 'muted' },
        'The payment provider has not confirmed your payment within a minute. If you paid, check again in a moment: your ticket stays in this browser. If you cancelled the checkout, book again.'),
      h('div', { class: 'row center-row' },
        h('button', { class: 'btn btn-primary', type: 'button', 'data-testid': 'confirm-again', onclick: () => this.confirm(t, Date.now()) }, 'Check again'),
        h('button', { class: 'btn', type: 'button', onclick: () => { dropQuery('booking'); this.booking = null; this.showBook(undefined, t); } }, 'Book again'),
      ),
    );
    this.block('blocked');
  }

  private seatsText(): string {
    const g = this.gig;
    if (!g.capacity) return '';
    const left = g.seats_left ?? Math.max(0, g.capacity - (g.tickets_sold || 0));
    return left === 0 ? 'Sold out' : `${plural(left, 'seat')} left`;
  }

  // showBook shows the booking form, or "Sold out" when no seat is left.
  private showBook(notice?: Notice, pending?: StoredTicket): void {
    clearTimeout(this.timer);
    const g = this.gig;
    const noticeEl = notice
      ? h('div', { class: `gate-notice gate-notice-${notice.tone}`, role: 'alert', 'data-testid': notice.tone === 'revoked' ? 'revoked' : 'gate-notice' },
          notice.title ? h('strong', null, notice.title) : null,
          h('p', null, notice.text),
          pending ? h('button', { class: 'btn btn-sm', type: 'button', onclick: () => this.verify(pending) }, 'Check again') : null,
        )
      : null;
    if (g.capacity && (g.seats_left === 0 || (g.seats_left === undefined && (g.tickets_sold || 0) >= g.capacity))) {
      this.showSoldOut(noticeEl);
      return;
    }
    const paid = g.price_minor > 0;
    const price = formatPrice(g.price_minor, g.currency);
    const name = h('input', { id: 'book-name', name: 'name', type: 'text', maxlength: 80, required: true, autocomplete: 'name', 'aria-describedby': 'book-name-err' });
    const email = h('input', { id: 'book-email', name: 'email', type: 'email', maxlength: 254, required: true, autocomplete: 'email', inputmode: 'email', 'aria-describedby': 'book-email-err' });
    const nameErr = h('p', { class: 'field-error', id: 'book-name-err', role: 'alert' });
    const emailErr = h('p', { class: 'field-error', id: 'book-email-err', role: 'alert' });
    const formErr = h('div', { class: 'form-error', role: 'alert', 'data-testid': 'book-error' });
    const submit = h('button', { class: 'btn btn-primary btn-lg', type: 'submit', 'data-testid': 'book' }, paid ? `Book · ${price}` : 'Book a free ticket');
    this.seatsEl = h('span', { class: 'gate-seats', 'data-testid': 'seats-left' }, this.seatsText());
    const form = h('form', { class: 'book-form', novalidate: true },
      h('div', { class: 'field-row' },
        h('div', { class: 'field' }, h('label', { for: 'book-name' }, 'Your name'), name, nameErr),
        h('div', { class: 'field' }, h('label', { for: 'book-email' }, 'Email'), email, emailErr),
      ),
      formErr,
      h('div', { class: 'form-actions' }, submit,
        h('span', { class: 'muted small' }, paid ? 'You pay on the secure checkout page, then come back here to watch.' : 'Your ticket is kept in this browser.'),
      ),
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      nameErr.textContent = emailErr.textContent = formErr.textContent = '';
      name.removeAttribute('aria-invalid');
      email.removeAttribute('aria-invalid');
      const n = name.value.trim();
      const m = email.value.trim();
      if (!n) return fieldError(name, nameErr, 'Type your name.');
      if (!m || !m.includes('@')) return fieldError(email, emailErr, 'Type the email address for your ticket.');
      submit.disabled = true;
      try {
        const b = await bookTicket(g.id, n, m);
        if (this.stopped) return;
        if (b.checkout_url) {
          // Kept before leaving: it admits once the payment is confirmed.
          saveTicket(g.id, { token: b.ticket_token, booking_id: b.booking_id, name: n });
          this.view('redirecting', h('div', { class: 'spinner', 'aria-hidden': 'true' }), h('p', null, 'Taking you to the checkout…'));
          window.location.assign(b.checkout_url);
          return;
        }
        const holder = b.ticket?.name || n;
        saveTicket(g.id, { token: b.ticket_token, name: holder });
        this.grant(b.ticket_token, holder);
      } catch (err) {
        if (this.stopped) return;
        submit.disabled = false;
        if (!(err instanceof ApiError)) {
          formErr.textContent = 'Something went wrong. Try again.';
        } else if (err.code === 'sold_out') {
          this.gig = { ...this.gig, seats_left: 0 };
          this.showSoldOut(null);
        } else if (err.code === 'not_ticketed') {
          this.grant('', n); // the gig is open now: no ticket needed
        } else if (err.field === 'name') {
          fieldError(name, nameErr, err.message);
        } else if (err.field === 'email') {
          fieldError(email, emailErr, err.message);
        } else {
          formErr.textContent = err.message; // payments_unavailable, gig_ended, ...
        }
      }
    });
    this.view('book',
      h('p', { class: 'eyebrow' }, paid ? 'Ticketed show' : 'Free ticket'),
      h('h2', null, 'Book to watch'),
      noticeEl,
      h('p', { class: 'gate-sub' }, h('span', { class: 'price' }, paid ? price : 'Free'), this.seatsEl),
      form,
    );
    this.block('blocked');
  }

  private showSoldOut(noticeEl: HTMLElement | null): void {
    this.seatsEl = null;
    this.view('soldout',
      h('p', { class: 'eyebrow' }, 'Ticketed show'),
      h('h2', null, 'Sold out'),
      noticeEl,
      h('p', { class: 'muted' }, this.gig.capacity ? `All ${plural(this.gig.capacity, 'seat')} are booked.` : 'No seats are left.'),
      h('a', { class: 'btn btn-primary', href: '/' }, 'Find another show'),
    );
    this.block('blocked');
  }

  private view(name: string, ...kids: Array<Node | null>): void {
    replace(this.host, h('div', { class: 'gate-card', 'data-testid': 'gate', 'data-view': name }, kids));
    this.host.dataset.view = name;
    if (name === 'checking' || name === 'confirming' || name === 'redirecting') this.block('checking');
  }
}

function fieldError(input: HTMLInputElement, el: HTMLElement, msg: string): void {
  el.textContent = msg;
  input.setAttribute('aria-invalid', 'true');
  input.focus();
}

// dropQuery removes a parameter from the address bar without navigating.
export function dropQuery(name: string): void {
  const u = new URL(location.href);
  if (!u.searchParams.has(name)) return;
  u.searchParams.delete(name);
  history.replaceState(history.state, '', u.pathname + u.search + u.hash);
}
