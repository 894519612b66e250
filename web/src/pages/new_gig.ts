// List a gig: the form, then on to the one-time credentials page.
import { createGig } from '../lib/api';
import { h } from '../lib/dom';
import { navigate, type Page } from '../lib/router';
import { saveSecrets } from '../lib/secrets';
import { gigForm } from './gig_form';

export const newGigPage: Page = (root) => {
  document.title = 'List a gig · BookMyGig';
  let stopped = false;
  const f = gigForm({
    submitLabel: 'List my gig',
    onSubmit: async (form) => {
      form.setBusy(true);
      try {
        const res = await createGig(form.values());
        if (stopped) return;
        const c = res.credentials || ({} as any);
        saveSecrets(res.gig.id, {
          manage_token: c.manage_token,
          stream_key: c.stream_key,
          rtmp_url: typeof c.rtmp_url === 'string' ? c.rtmp_url : undefined,
          whip_url:
            typeof c.whip_url === 'string'
              ? c.whip_url
              : typeof c.whip_path === 'string'
                ? new URL(c.whip_path, location.href).href
                : undefined,
        });
        navigate(`/gig/${encodeURIComponent(res.gig.id)}/credentials`);
      } catch (err) {
        form.showError(err);
      } finally {
        form.setBusy(false);
      }
    },
  });
  root.append(
    h('section', { class: 'page narrow' },
      h('h1', null, 'List a gig'),
      h('p', { class: 'lead' }, 'Tell your audience what is on. Right after this you get the settings to go live from OBS or straight from this browser.'),
      h('div', { class: 'panel' }, f.form),
    ),
  );
  (f.form.querySelector('input') as HTMLInputElement | null)?.focus();
  return () => {
    stopped = true;
  };
};
