// beacon-dashboard page helpers. Every value from the server goes into the page
// with textContent or a DOM property, never as markup: model answers are
// untrusted text. (The Content-Security-Policy forbids inline script as well.)
'use strict';

const beacon = {
  // el('td', {className: 'num'}, '12') -> <td class="num">12</td>; text is always text.
  el(tag, props, text) {
    const e = document.createElement(tag);
    if (props) for (const [k, v] of Object.entries(props)) {
      if (k === 'dataset') Object.assign(e.dataset, v); else e[k] = v;
    }
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  },
  setText(id, text) { const e = document.getElementById(id); if (e) e.textContent = text == null ? '' : String(text); },
  async getJSON(url) {
    const res = await fetch(url, {credentials: 'same-origin', cache: 'no-store'});
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    if (!res.ok) throw new Error((body && body.error) || ('HTTP ' + res.status + ' for ' + url));
    return body;
  },
  showError(err) {
    const e = document.getElementById('error');
    if (!e) return;
    e.hidden = !err;
    e.textContent = err ? String(err.message || err) : '';
  },
  duration(s) {
    if (s == null) return '–';
    s = Math.round(s);
    if (s < 60) return s + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm' + String(s % 60).padStart(2, '0') + 's';
    return Math.floor(s / 3600) + 'h' + String(Math.floor(s % 3600 / 60)).padStart(2, '0');
  },
  // Path segment i of the page's URL, decoded (/jobs/<id>/...: jobId() is segment 1).
  segment(i) { const parts = location.pathname.split('/').filter(Boolean); return decodeURIComponent(parts[i] || ''); },
  jobId() { return beacon.segment(1); },
  jobUrl(id) { return '/jobs/' + encodeURIComponent(id); },
  executionUrl(job, q, m, r, s) {
    const p = new URLSearchParams({region: r, model: m, question: q, sample: String(s)});
    return beacon.jobUrl(job) + '/execution?' + p.toString();
  },
  // The state a cell is drawn in: completed splits into answered and refused.
  cellState(status, classification) {
    if (status === 'completed') return classification === 'refused' ? 'refused' : 'answered';
    return status;
  },
  // A stacked bar of counts {completed, refused, failed, running, cancelled, total}.
  fillBar(bar, c) {
    bar.replaceChildren();
    const total = c.total || 0;
    if (!total) return;
    const answered = Math.max(0, c.completed - (c.refused || 0));
    for (const [cls, n] of [['answered', answered], ['refused', c.refused || 0], ['failed', c.failed],
                            ['cancelled', c.cancelled], ['running', c.running]]) {
      if (!n) continue;
      const seg = beacon.el('span', {className: 'seg-' + cls, title: cls + ' ' + n});
      seg.style.width = (100 * n / total) + '%';
      bar.appendChild(seg);
    }
  },
  bar(c) { const b = beacon.el('div', {className: 'bar'}); beacon.fillBar(b, c); return b; },
  live(text) { beacon.setText('live', text); },
};
