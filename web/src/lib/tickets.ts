// Booking: the ticket API (/api/gigs/{id}/tickets...) and the viewer's
// ticket for a gig, kept in this browser's localStorage under
// bmg.ticket.<gigID>. Like the manage token, the ticket token leaves the
// browser only towards this server: Authorization: Bearer (API, WHEP),
// ?ticket= (HTTP-FLV, which players cannot give headers) and the chat join.
import { ApiError, call } from './api';

export type TicketStatus = 'valid' | 'revoked' | 'refunded';
export type TicketKind = 'free' | 'paid' | 'comp';

export interface Ticket {
  id: string;
  gig_id: string;
  name: string;
  email: string;
  status: TicketStatus;
  kind: TicketKind;
  paid_minor: number;
  currency: string;
  created_at: string;
}

// Booked is the answer to a booking: a free ticket at once, or a paid
// booking that waits for the checkout.
export interface Booked {
  ticket?: Ticket;
  ticket_token: string;
  booking_id?: string;
  status?: string;
  checkout_url?: string;
}

export type MyTicket = { pending: true } | { pending: false; ticket: Ticket; watching_elsewhere: boolean };

export interface TicketList {
  tickets: Ticket[];
  sold: number;
  capacity: number;
  revenue_minor: number;
  currency: string;
  payments_enabled: boolean;
}

const base = (gigId: string) => `/api/gigs/${encodeURIComponent(gigId)}/tickets`;

export function bookTicket(gigId: string, name: string, email: string): Promise<Booked> {
  return call<Booked>('POST', base(gigId), { name, email });
}

// myTicket checks a ticket token: pending while a paid booking waits for
// the provider's confirmation. With screen, watching_elsewhere says that
// another screen has taken the ticket over.
export async function myTicket(gigId: string, token: string, screen?: string): Promise<MyTicket> {
  const q = screen ? `?screen=${encodeURIComponent(screen)}` : '';
  const d: any = await call('GET', `${base(gigId)}/me${q}`, undefined, token);
  if (!d?.ticket) return { pending: true };
  return { pending: false, ticket: d.ticket, watching_elsewhere: !!d.watching_elsewhere };
}

export async function listTickets(gigId: string, manageToken: string): Promise<TicketList> {
  const d: any = await call('GET', base(gigId), undefined, manageToken);
  return { ...d, tickets: d?.tickets || [] };
}

export function compTicket(gigId: string, manageToken: string, body: { name: string; email: string; price_minor: number }): Promise<Booked> {
  return call<Booked>('POST', `${base(gigId)}/comp`, body, manageToken);
}

export async function revokeTicket(gigId: string, ticketId: string, manageToken: string): Promise<Ticket> {
  const d: any = await call('POST', `${base(gigId)}/${encodeURIComponent(ticketId)}/revoke`, undefined, manageToken);
  return d?.ticket;
}

export async function refundTicket(gigId: string, ticketId: string, manageToken: string): Promise<Ticket> {
  const d: any = await call('POST', `${base(gigId)}/${encodeURIComponent(ticketId)}/refund`, undefined, manageToken);
  return d?.ticket;
}

// deniedCode tells the refusals that mean "this ticket does not admit":
// the page drops it and offers the booking form again.
export function deniedCode(err: unknown): string {
  if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return err.code;
  return '';
}

// ---- the viewer's ticket in this browser ----

export interface StoredTicket {
  token: string;
  booking_id?: string; // a paid booking until the payment is confirmed
  name?: string;
}

const key = (gigId: string) => `bmg.ticket.${gigId}`;

export function loadTicket(gigId: string): StoredTicket | null {
  try {
    const t = JSON.parse(localStorage.getItem(key(gigId)) || 'null');
    return t && typeof t.token === 'string' && t.token ? (t as StoredTicket) : null;
  } catch {
    return null;
  }
}

export function saveTicket(gigId: string, t: StoredTicket): void {
  try {
    localStorage.setItem(key(gigId), JSON.stringify(t));
  } catch {
    /* storage disabled: the ticket works for this page only */
  }
}

export function forgetTicket(gigId: string): void {
  try {
    localStorage.removeItem(key(gigId));
  } catch {
    /* ignore */
  }
}

// newScreenId names this page for the one-ticket-one-screen rule: random,
// [0-9a-f], and new on every page load.
export function newScreenId(): string {
  const b = new Uint8Array(12);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
