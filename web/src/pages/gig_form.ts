// The gig form shared by "List a gig" and the studio's edit panel. The
// server validates; its messages are shown beside the field they name.
import { ApiError, type Gig, type GigInput } from '../lib/api';
import { h } from '../lib/dom';
import { categories, categoryLabel, fromLocalInput, fromMinor, toLocalInput, toMinor } from '../lib/format';

const currencies = ['USD', 'EUR', 'GBP', 'INR', 'CAD', 'AUD', 'JPY', 'BRL', 'ZAR', 'NGN'];

export interface GigForm {
  form: HTMLFormElement;
  values(): GigInput;
  showError(err: unknown): void;
  clearErrors(): void;
  setBusy(busy: boolean): void;
}

type FieldName = keyof GigInput;

export function gigForm(opts: { gig?: Gig; submitLabel: string; onSubmit: (f: GigForm) => void }): GigForm {
  const g = opts.gig;
  const start = g ? new Date(g.starts_at) : nextHalfHour(new Date(Date.now() + 24 * 3600e3));
  const end = g ? new Date(g.ends_at) : new Date(start.getTime() + 90 * 60e3);
  const errors = new Map<string, HTMLElement>();
  const inputs = new Map<string, HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>();

  function field(name: FieldName, label: string, control: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement, hint?: string) {
    const id = `f-${name}`;
    control.id = id;
    control.name = name;
    const err = h('p', { class: 'field-error', id: `${id}-err`, role: 'alert' });
    const hintEl = hint ? h('p', { class: 'field-hint', id: `${id}-hint` }, hint) : null;
    control.setAttribute('aria-describedby', [hint ? `${id}-hint` : '', `${id}-err`].filter(Boolean).join(' '));
    errors.set(name, err);
    inputs.set(name, control);
    return h('div', { class: `field field-${name}` }, h('label', { for: id }, label), control, hintEl, err);
  }

  const submit = h('button', { class: 'btn btn-primary btn-lg', type: 'submit' }, opts.submitLabel);
  const formError = h('div', { class: 'form-error', role: 'alert' });

  const catSelect = h('select', null,
    h('option', { value: '' }, 'Choose a category'),
    categories.map((c) => h('option', { value: c }, c)),
  );
  if (g) catSelect.value = categoryLabel(g.category);

  const curSelect = h('select', null, currencies.map((c) => h('option', { value: c }, c)));
  if (g && !currencies.includes(g.currency)) curSelect.append(h('option', { value: g.currency }, g.currency));
  curSelect.value = g?.currency || guessCurrency();

  // Access: open, or ticket (book to watch). A price always means ticket.
  const accessSel = h('select', null,
    h('option', { value: 'open' }, 'Open: anyone can watch'),
    h('option', { value: 'ticket' }, 'Ticket: book to watch'),
  );
  accessSel.value = g?.access === 'ticket' || (g && g.price_minor > 0) ? 'ticket' : 'open';
  const capacityInput = h('input', { type: 'number', min: 0, step: 1, inputmode: 'numeric', value: String(g?.capacity ?? 0) });

  const form = h('form', { class: 'gig-form', novalidate: true },
    h('div', { class: 'form-grid' },
      field('title', 'Show title', h('input', { type: 'text', maxlength: 120, required: true, autocomplete: 'off', value: g?.title || '', placeholder: 'Late night stand-up with…' })),
      field('creator_name', 'Performer or company', h('input', { type: 'text', maxlength: 80, required: true, autocomplete: 'name', value: g?.creator_name || '' })),
      field('category', 'Category', catSelect),
      h('div', { class: 'field-row' },
        field('price_minor', 'Ticket price', h('input', { type: 'number', min: 0, step: 'any', inputmode: 'decimal', value: g ? fromMinor(g.price_minor, g.currency) : '0' }), '0 means free'),
        field('currency', 'Currency', curSelect),
      ),
      h('div', { class: 'field-row' },
        field('access', 'Access', accessSel, 'Free gigs can be open or need a (free) ticket.'),
        field('capacity', 'Seats', capacityInput, '0 means unlimited'),
      ),
      h('div', { class: 'field-row' },
        field('starts_at', 'Starts', h('input', { type: 'datetime-local', required: true, value: toLocalInput(start) })),
        field('ends_at', 'Ends', h('input', { type: 'datetime-local', required: true, value: toLocalInput(end) })),
      ),
      field('description', 'What is the show about?', h('textarea', { rows: 5, maxlength: 4000, value: g?.description || '', placeholder: 'Tell the audience what to expect.' })),
      field('payment_pointer', 'Payment pointer (optional)', h('input', { type: 'text', autocomplete: 'off', value: g?.payment_pointer || '', placeholder: '$wallet.example/you' }), 'Your wallet address, such as $wallet.example/you: viewers whose browser has Web Monetization tip you while they watch.'),
    ),
    formError,
    h('div', { class: 'form-actions' }, submit),
  );

  // A price forces "ticket" and says why; seats only count on ticketed gigs.
  const accessHint = form.querySelector<HTMLElement>('#f-access-hint')!;
  const capacityHint = form.querySelector<HTMLElement>('#f-capacity-hint')!;
  const priceInput = inputs.get('price_minor') as HTMLInputElement;
  function syncAccess() {
    const priced = Number((priceInput.value || '0').replace(',', '.')) > 0;
    if (priced) accessSel.value = 'ticket';
    accessSel.disabled = priced;
    accessHint.textContent = priced
      ? 'A gig with a price always needs a ticket: viewers book and pay before they watch.'
      : 'Free gigs can be open or need a (free) ticket.';
    accessHint.dataset.forced = String(priced);
    const open = accessSel.value === 'open';
    capacityInput.disabled = open;
    capacityHint.textContent = open ? 'Seats count on ticketed gigs only.' : '0 means unlimited';
  }
  priceInput.addEventListener('input', syncAccess);
  accessSel.addEventListener('change', syncAccess);
  syncAccess();

  const api: GigForm = {
    form,
    values() {
      const v = (n: string) => (inputs.get(n)!.value || '').trim();
      const out: GigInput = {
        creator_name: v('creator_name'),
        title: v('title'),
        description: v('description'),
        category: v('category'),
        price_minor: toMinor(v('price_minor') || '0', v('currency')),
        currency: v('currency'),
        starts_at: fromLocalInput(v('starts_at')),
        ends_at: fromLocalInput(v('ends_at')),
        // A price makes the gig ticketed whatever the (disabled) select says.
        access: toMinor(v('price_minor') || '0', v('currency')) > 0 ? 'ticket' : (accessSel.value as 'open' | 'ticket'),
        capacity: 0,
      };
      if (out.access === 'ticket') out.capacity = Number(v('capacity') || '0');
      const pp = v('payment_pointer');
      if (pp || g?.payment_pointer) out.payment_pointer = pp;
      return out;
    },
    clearErrors() {
      formError.textContent = '';
      for (const [n, el] of errors) {
        el.textContent = '';
        inputs.get(n)!.removeAttribute('aria-invalid');
      }
    },
    showError(err) {
      api.clearErrors();
      if (err instanceof ApiError && err.field && errors.has(err.field)) {
        errors.get(err.field)!.textContent = err.message;
        const input = inputs.get(err.field)!;
        input.setAttribute('aria-invalid', 'true');
        input.focus();
        return;
      }
      formError.textContent = err instanceof ApiError ? err.message : 'Something went wrong. Try again.';
    },
    setBusy(busy) {
      submit.disabled = busy;
      submit.setAttribute('aria-busy', String(busy));
    },
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    api.clearErrors();
    const seats = Number(capacityInput.value || '0');
    if (!capacityInput.disabled && (!Number.isInteger(seats) || seats < 0)) {
      api.showError(new ApiError(400, 'validation_failed', 'Type a whole number of seats (0 means unlimited).', 'capacity'));
      return;
    }
    opts.onSubmit(api);
  });
  return api;
}

function nextHalfHour(d: Date): Date {
  const out = new Date(d);
  out.setSeconds(0, 0);
  out.setMinutes(out.getMinutes() < 30 ? 30 : 60);
  return out;
}

function guessCurrency(): string {
  const lang = navigator.language || '';
  if (/-(IN)$/i.test(lang)) return 'INR';
  if (/-(GB)$/i.test(lang)) return 'GBP';
  if (/-(DE|FR|ES|IT|NL|IE|PT|AT|BE|FI)$/i.test(lang)) return 'EUR';
  return 'USD';
}
