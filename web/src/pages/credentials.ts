// Shown right after listing a gig: the secrets the server gives out once,
// and how to go live with them.
import { getGig } from '../lib/api';
import { h, replace } from '../lib/dom';
import { formatWhen } from '../lib/format';
import type { Page } from '../lib/router';
import { loadSecrets } from '../lib/secrets';
import { copyRow, obsSection } from './stream_settings';

export const credentialsPage: Page = (root, { id }) => {
  document.title = 'Your gig is listed · BookMyGig';
  const s = loadSecrets(id);
  const title = h('p', { class: 'lead' }, ' ');
  getGig(id)
    .then((g) => {
      title.textContent = `“${g.title}” · ${formatWhen(g.starts_at)}`;
      document.title = `${g.title} is listed · BookMyGig`;
    })
    .catch(() => {});

  const watchURL = `${location.origin}/gig/${encodeURIComponent(id)}`;
  const body = h('section', { class: 'page' });
  if (!s.manage_token && !s.stream_key) {
    replace(body,
      h('h1', null, 'Credentials'),
      h('div', { class: 'callout callout-warn', role: 'note' },
        h('p', null, 'This browser does not hold the secrets for this gig. The server shows them only once, when the gig is listed.'),
        h('p', null, 'If you have the manage token, open the studio and paste it there; it can rotate the stream key.'),
      ),
      h('a', { class: 'btn btn-primary', href: `/studio/${encodeURIComponent(id)}` }, 'Open the studio'),
    );
  } else {
    replace(body,
      h('div', { class: 'success-head' },
        h('p', { class: 'eyebrow' }, 'You are on the bill'),
        h('h1', null, 'Your gig is listed'),
        title,
      ),
      h('div', { class: 'callout callout-warn', role: 'note' },
        h('h2', null, 'Save these secrets now'),
        h('p', null, 'The server shows them this one time and keeps only what it needs to check them. This browser remembers them for your studio; anyone holding the stream key can broadcast as you, so never share it on stream.'),
      ),
      h('section', { class: 'panel' },
        h('h2', null, 'Manage token'),
        h('p', { class: 'muted' }, 'Lets you edit the gig, moderate chat and rotate the stream key, from the studio on any device.'),
        copyRow('Manage token', s.manage_token || '', { secret: true, name: 'manage_token' }),
      ),
      obsSection(id, s),
      h('section', { class: 'panel' },
        h('h2', null, 'Share your show'),
        copyRow('Audience link', watchURL, { name: 'watch_url' }),
      ),
      h('div', { class: 'form-actions' },
        h('a', { class: 'btn btn-primary btn-lg', href: `/studio/${encodeURIComponent(id)}`, 'data-testid': 'open-studio' }, 'Open the studio'),
        h('a', { class: 'btn btn-ghost', href: `/gig/${encodeURIComponent(id)}` }, 'See the audience page'),
      ),
    );
  }
  root.append(body);
};
