// /jobs/<id>/report : refusal rate per question by region and by model, as a
// heat map (the numbers of `beacon-producer report JOB --json`).
'use strict';

const jobId = beacon.jobId();

function heatCell(rate) {
  if (!rate || rate.rate === null) return beacon.el('td', {className: 'none', title: 'nothing judged'}, '–');
  const pct = Math.round(rate.rate * 100);
  const td = beacon.el('td', {title: rate.refused + ' of ' + rate.judged + ' refused'}, pct + '%');
  // white (0%) to orange-red (100%)
  const g = Math.round(245 - 150 * rate.rate), b = Math.round(240 - 200 * rate.rate);
  td.style.background = 'rgb(250,' + g + ',' + b + ')';
  return td;
}

async function load() {
  const link = document.getElementById('job-link');
  link.textContent = jobId;
  link.href = beacon.jobUrl(jobId);
  try {
    const r = await beacon.getJSON('/api/jobs/' + encodeURIComponent(jobId) + '/report');
    const regions = new Set(), models = new Set();
    for (const q of r.questions) {
      Object.keys(q.refusal_by_region).forEach((k) => regions.add(k));
      Object.keys(q.refusal_by_model).forEach((k) => models.add(k));
    }
    const rs = [...regions].sort(), ms = [...models].sort();
    const head = document.querySelector('#heat thead');
    const h1 = beacon.el('tr'), h2 = beacon.el('tr');
    h1.appendChild(beacon.el('th', {className: 'q', rowSpan: 2}, 'question'));
    h1.appendChild(beacon.el('th', {colSpan: rs.length || 1}, 'by region'));
    h1.appendChild(beacon.el('th', {colSpan: ms.length || 1}, 'by model'));
    h1.appendChild(beacon.el('th', {rowSpan: 2}, 'divergence'));
    for (const x of rs.concat(ms)) h2.appendChild(beacon.el('th', {}, x));
    head.replaceChildren(h1, h2);
    const body = document.querySelector('#heat tbody');
    body.replaceChildren(...r.questions.map((q) => {
      const tr = beacon.el('tr');
      tr.appendChild(beacon.el('td', {className: 'q'}, q.question_id === '' ? '(no question)' : q.question_id));
      for (const x of rs) tr.appendChild(heatCell(q.refusal_by_region[x]));
      for (const x of ms) tr.appendChild(heatCell(q.refusal_by_model[x]));
      tr.appendChild(beacon.el('td', {}, q.divergence == null ? '–' : q.divergence.toFixed(2)));
      return tr;
    }));
    beacon.setText('overall', r.completed + ' of ' + r.executions + ' executions completed');
    document.body.dataset.loaded = 'true';
  } catch (e) {
    beacon.showError(e);
  }
}

load();
