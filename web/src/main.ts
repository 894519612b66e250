import './style.css';
import { Router } from './lib/router';
import { h } from './lib/dom';
import { browsePage } from './pages/browse';
import { newGigPage } from './pages/new_gig';
import { credentialsPage } from './pages/credentials';
import { watchPage } from './pages/watch';
import { studioPage } from './pages/studio';

const root = document.getElementById('main')!;

const router = new Router(root, (r) => {
  document.title = 'Not found · BookMyGig';
  r.append(
    h('section', { class: 'empty big' },
      h('h1', null, 'Nothing on this stage'),
      h('p', null, 'This page does not exist. The show may have moved.'),
      h('a', { class: 'btn btn-primary', href: '/' }, 'Browse gigs'),
    ),
  );
});

router
  .add('/', browsePage)
  .add('/new', newGigPage)
  .add('/gig/:id', watchPage)
  .add('/gig/:id/credentials', credentialsPage)
  .add('/studio/:id', studioPage)
  .render();
