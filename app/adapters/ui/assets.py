"""The page's own CSS and script (passed to gr.mount_gradio_app by the server)."""

UI_CSS = """
.nr-answer p, .nr-draft p { margin: 0 0 .4em 0; }
a.nr-cite { font-weight: 600; text-decoration: none; padding: 0 .1em; border-radius: 3px;
  color: var(--link-text-color, #2563eb); cursor: pointer; }
a.nr-cite:hover { background: rgba(37, 99, 235, .12); }
.nr-draft-text { opacity: .75; font-style: italic; }
.nr-note { font-size: .85em; opacity: .8; margin-top: .3em; }
.nr-abstain { border-left: 4px solid #d97706; padding-left: .6em; }
.nr-error { border-left: 4px solid #dc2626; padding-left: .6em; }
.nr-pending { opacity: .85; }
.nr-refused { border-left: 4px solid #d97706; padding-left: .6em; }
.nr-spinner { display: inline-block; width: .8em; height: .8em; border: 2px solid currentColor;
  border-right-color: transparent; border-radius: 50%; animation: nr-spin .8s linear infinite; vertical-align: -1px; }
@keyframes nr-spin { to { transform: rotate(360deg); } }
.nr-removed { font-size: .85em; margin-top: .4em; opacity: .85; }
#nr-sources { max-height: 640px; overflow-y: auto; }
.nr-turn h4 { margin: .2em 0 .4em 0; font-size: .95em; }
.nr-q { font-weight: normal; opacity: .75; }
.nr-source { border: 1px solid var(--border-color-primary, #ddd); border-radius: 8px; padding: .6em .75em;
  margin-bottom: .6em; transition: box-shadow .3s, border-color .3s; }
.nr-source.nr-active { border-color: #2563eb; box-shadow: 0 0 0 3px rgba(37, 99, 235, .35); }
.nr-head { font-weight: 600; }
.nr-n { color: var(--link-text-color, #2563eb); }
.nr-meta { font-size: .82em; opacity: .8; margin: .15em 0 .35em 0; }
.nr-loc { font-family: var(--font-mono, monospace); font-size: .95em; }
blockquote.nr-context { margin: .3em 0; padding: .3em .6em; border-left: 3px solid var(--border-color-primary, #ccc);
  font-size: .92em; line-height: 1.45; }
mark.nr-quote { background: #fde68a; color: #1f2937; padding: 0 .1em; border-radius: 2px; }
.nr-source.nr-active mark.nr-quote { background: #fbbf24; }
.nr-actions { display: flex; gap: .5em; align-items: center; }
button.nr-copy { font-size: .8em; padding: .15em .6em; border-radius: 6px; cursor: pointer;
  border: 1px solid var(--border-color-primary, #ccc); background: var(--button-secondary-background-fill, #f3f4f6); }
.nr-verdict { font-size: 1.05em; padding: .6em .8em; border-radius: 8px; margin-bottom: .8em; color: #111827; }
.nr-verdict-label { font-weight: 700; margin-right: .4em; }
.nr-verdict-supported { background: #dcfce7; }
.nr-verdict-contradicted { background: #fee2e2; }
.nr-verdict-mixed { background: #fef3c7; }
.nr-verdict-not_found { background: #e5e7eb; }
.nr-claim-group h4 { margin: .6em 0 .4em 0; }
.nr-supports .nr-source { border-left: 4px solid #16a34a; }
.nr-contradicts .nr-source { border-left: 4px solid #dc2626; }
.nr-qualifies .nr-source { border-left: 4px solid #d97706; }
.nr-reason { font-size: .85em; font-style: italic; }
#nr-corpus td, #nr-corpus th, #nr-corpus span { font-family: var(--font, sans-serif); font-size: .92em; }
.nr-reader h3 { margin-top: 0; }
.nr-reader p { line-height: 1.5; }
a.nr-link { color: var(--link-text-color, #2563eb); }
.nr-byline { font-style: italic; }
.nr-elapsed { font-variant-numeric: tabular-nums; opacity: .8; }
.nr-export { font-size: .85em; margin: .2em 0 .5em 0; display: flex; gap: .4em; align-items: center; flex-wrap: wrap; }
button.nr-export-btn { font-size: .9em; padding: .1em .6em; border-radius: 6px; cursor: pointer;
  border: 1px solid var(--border-color-primary, #ccc); background: var(--button-secondary-background-fill, #f3f4f6); }
.nr-outcome-unverified { border-left-color: #2563eb; }
/* wide screens: sources in the side panel; narrow screens: under each answer */
.nr-inline-sources { display: none; margin-top: .5em; }
.nr-inline-sources > summary { cursor: pointer; font-size: .9em; font-weight: 600; }
.nr-offscreen { position: absolute !important; left: -9999px !important; width: 1px !important; height: 1px !important;
  overflow: hidden !important; }
.nr-doc-list { display: none; list-style: none; padding: 0; margin: .4em 0 0 0; }
.nr-doc-list li { margin: 0 0 .4em 0; }
button.nr-open { display: block; width: 100%; text-align: left; cursor: pointer; padding: .45em .6em;
  border: 1px solid var(--border-color-primary, #ddd); border-radius: 8px; background: transparent; color: inherit; }
button.nr-open .nr-meta { display: block; margin: 0 0 .15em 0; }
.nr-doc-title { font-weight: 600; font-size: .95em; }
/* the chat fills what the screen leaves: at 900 px the examples under the input stay in view */
@media (min-width: 769px) { #nr-chat { height: max(360px, calc(100vh - 510px)) !important; } }
@media (max-width: 768px) {
  .nr-doc-list { display: block; }
  #nr-corpus { display: none !important; }
  #nr-intro p { display: none; }
  #nr-intro h2 { margin: 0; font-size: 1.1em; }
  #nr-sources-col { display: none !important; }
  .nr-inline-sources { display: block; }
  .nr-example { font-size: .8em; }
}
.nr-empty { opacity: .7; font-size: .9em; }
/* the export text rides along for the download only (the chat's sanitiser drops `hidden`) */
pre.nr-export-data, .nr-line { display: none !important; }
/* the corpus card */
.nr-card { border: 1px solid var(--border-color-primary, #ddd); border-radius: 8px; padding: .45em .75em; }
.nr-card-line { font-size: .95em; }
.nr-card-about { font-size: .9em; opacity: .9; }
.nr-card .nr-meta { margin-bottom: 0; }
/* while an answer is written: its stage, and the article sentence being checked, greyed */
blockquote.nr-considered { opacity: .6; font-style: italic; margin: .45em 0 0 0; padding: .2em .6em;
  border-left: 3px solid #9ca3af; }
.nr-badge { font-style: normal; font-size: .72em; text-transform: uppercase; letter-spacing: .04em;
  background: #e5e7eb; color: #374151; border-radius: 4px; padding: .05em .4em; margin-right: .3em; }
#nr-examples { flex-wrap: wrap; gap: .4em; }
#nr-examples > button { flex: 0 1 auto !important; min-width: 0 !important; white-space: normal; }
.nr-counter { font-size: .75em; opacity: .7; text-align: right; margin-top: .2em; width: 100%; }
.nr-counter.nr-full { color: #dc2626; opacity: 1; }
#nr-corpus th, #nr-corpus th * { white-space: nowrap; }
/* a read-only list: a clicked row opens the article; no cell editing frame or column handles */
#nr-corpus .cell-selected { box-shadow: none !important; outline: none !important;
  border-color: transparent !important; }
#nr-corpus .selection-button, #nr-corpus .cell-menu-button { display: none !important; }
#nr-corpus [role=gridcell] { cursor: pointer; }
@media (max-width: 768px) {
  #nr-chat { height: 38vh !important; min-height: 200px; }
  .nr-card { font-size: .9em; padding: .35em .6em; }
  .nr-card-about { display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; overflow: hidden; }
}
/* --- font (keep last): the theme's system font stack (server.ui_theme) outside the Gradio container too --- */
body { font-family: var(--font, system-ui, sans-serif); }
/* --- end font --- */
"""

# Document-level handlers (the chat's markers live in the chatbot, the quotes in the sources panel).
UI_HEAD = """
<script>
(() => {
  function showSource(id) {
    const card = document.getElementById(id);
    if (!card) return false;
    document.querySelectorAll('.nr-source.nr-active').forEach((el) => el.classList.remove('nr-active'));
    card.classList.add('nr-active');
    card.scrollIntoView({behavior: 'smooth', block: 'center'});
    return true;
  }
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    const area = document.createElement('textarea');
    area.value = text; area.setAttribute('readonly', ''); area.style.position = 'fixed'; area.style.opacity = '0';
    document.body.appendChild(area); area.select();
    try { document.execCommand('copy'); } finally { area.remove(); }
    return Promise.resolve();
  }
  function visible(el) { return !!(el && el.getClientRects().length); }
  function scopeTo(card) {
    // the Sources panel shows one answer's section: the one holding this card
    const section = card && card.closest('section.nr-turn');
    if (!section || !section.parentElement) return;
    section.parentElement.querySelectorAll(':scope > section.nr-turn').forEach((s) => { s.hidden = s !== section; });
  }
  function download(name, kind, text) {
    const type = kind === 'json' ? 'application/json' : 'text/markdown';
    const url = URL.createObjectURL(new Blob([text], {type: type + ';charset=utf-8'}));
    const a = document.createElement('a');
    a.href = url; a.download = name; document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }
  function questionBox() { return document.querySelector('#nr-question textarea'); }
  function blank(box) { return !box || !box.value.trim(); }
  function showCount() {  // "123 / 2,000" under the question box; the box's maxlength is the limit
    const box = questionBox();
    if (!box) return;
    const found = /(?:^|\\s)nr-limit-(\\d+)/.exec((box.closest('#nr-question') || {}).className || '');
    const limit = found ? Number(found[1]) : Number(box.getAttribute('maxlength') || 0);
    if (!limit) return;
    let counter = document.getElementById('nr-counter');
    if (!counter) {
      counter = document.createElement('div');
      counter.id = 'nr-counter'; counter.className = 'nr-counter'; counter.setAttribute('aria-live', 'polite');
      (box.closest('#nr-question') || box.parentElement).appendChild(counter);
    }
    const n = box.value.length;
    counter.textContent = n.toLocaleString('en') + ' / ' + limit.toLocaleString('en') + ' characters'
      + (n >= limit ? ' (the limit)' : '');
    counter.classList.toggle('nr-full', n >= limit);
  }
  document.addEventListener('input', (event) => {
    if (event.target === questionBox()) showCount();
  }, true);
  // an empty question is not sent (Ask and Enter do nothing)
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && event.target === questionBox() && blank(event.target)) {
      event.preventDefault(); event.stopPropagation();
    }
  }, true);
  // the article opened from the corpus list is brought into view (below the list on a phone)
  new MutationObserver(() => {
    const reader = document.querySelector('#nr-reader .nr-reader');
    if (reader && !reader.dataset.nrShown) {
      reader.dataset.nrShown = '1';
      const box = reader.getBoundingClientRect();
      const off = box.top < 0 || box.top > window.innerHeight * 0.6;
      if (off) reader.scrollIntoView({behavior: 'smooth', block: 'start'});
    }
  }).observe(document.documentElement, {subtree: true, childList: true});
  setInterval(() => {  // the seconds since the question was asked, between server updates
    showCount();
    document.querySelectorAll('.nr-elapsed').forEach((el) => {
      const found = /(?:^|\\s)nr-t0-(\\d+)/.exec(el.className);
      const t0 = found ? Number(found[1]) : 0;
      if (t0) el.textContent = Math.max(0, Math.round((Date.now() - t0) / 1000)) + ' s';
    });
  }, 500);
  document.addEventListener('click', (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    if (target.closest('#nr-ask') && blank(questionBox())) {  // nothing to ask: nothing sent
      event.preventDefault(); event.stopPropagation();
      const box = questionBox(); if (box) box.focus();
      return;
    }
    const opener = target.closest('button.nr-open');
    if (opener) {  // the phone's article list: the hidden box takes the id, the server renders the article
      const box = document.querySelector('#nr-open-doc textarea, #nr-open-doc input');
      const open = document.querySelector('#nr-open-button');
      if (box && open) {
        box.value = opener.getAttribute('data-doc') || '';
        box.dispatchEvent(new Event('input', {bubbles: true}));
        setTimeout(() => open.click(), 50);
      }
      return;
    }
    const marker = target.closest('a.nr-cite');
    if (marker) {
      const id = (marker.getAttribute('href') || '').replace(/^#/, '');
      const panel = document.getElementById(id);
      const inline = document.getElementById(id + '-in');
      if (panel) scopeTo(panel);
      // narrow screens hide the panel: open the answer's own sources instead
      const useInline = inline && !visible(panel);
      if (useInline) { const box = inline.closest('details'); if (box) box.open = true; }
      if (showSource(useInline ? id + '-in' : id)) { event.preventDefault(); event.stopPropagation(); }
      return;
    }
    const exporter = target.closest('button.nr-export-btn');
    if (exporter) {
      const kind = exporter.classList.contains('nr-kind-json') ? 'json' : 'md';
      const box = exporter.parentElement;
      const data = box && box.querySelector('pre.nr-export-data.nr-kind-' + kind);
      const turn = box ? /(?:^|\\s)nr-export-turn-(\\d+)/.exec(box.className) : null;
      const name = 'newsrag-answer' + (turn ? '-' + turn[1] : '') + '.' + kind;
      if (data) download(name, kind, data.textContent);
      return;
    }
    const button = target.closest('button.nr-copy');
    if (button) {
      const line = button.parentElement && button.parentElement.querySelector('.nr-line');
      if (!line) return;
      copyText(line.textContent).then(() => {
        button.textContent = 'Copied';
        setTimeout(() => { button.textContent = 'Copy citation'; }, 1500);
      }, () => { button.textContent = 'Copy failed'; });
    }
  }, true);
})();
</script>
"""
