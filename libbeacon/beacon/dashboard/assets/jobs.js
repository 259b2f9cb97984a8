// / : the recent jobs, refreshed every 2 s.
'use strict';

function jobRow(j) {
  const tr = beacon.el('tr', {dataset: {job: j.job_id}});
  const td = beacon.el('td');
  td.appendChild(beacon.el('a', {href: beacon.jobUrl(j.job_id)}, j.job_id));
  tr.appendChild(td);
  const st = beacon.el('td');
  st.appendChild(beacon.el('span', {className: 'badge st-' + j.status}, j.status));
  if (j.stalled) st.appendChild(beacon.el('span', {className: 'badge stalled'}, 'stalled'));
  tr.appendChild(st);
  const bar = beacon.el('td');
  bar.appendChild(beacon.bar(j));
  tr.appendChild(bar);
  tr.appendChild(beacon.el('td', {className: 'num'}, j.done + '/' + j.total + ' (' + j.percent.toFixed(1) + '%)'));
  for (const k of ['completed', 'failed', 'running', 'refused']) tr.appendChild(beacon.el('td', {className: 'num'}, j[k]));
  tr.appendChild(beacon.el('td', {className: 'num'}, j.status === 'running' || j.status === 'queued' ? beacon.duration(j.eta_s) : '–'));
  tr.appendChild(beacon.el('td', {}, j.created_at));
  return tr;
}

async function refresh() {
  try {
    const data = await beacon.getJSON('/api/jobs');
    const body = document.querySelector('#jobs tbody');
    body.replaceChildren(...data.jobs.map(jobRow));
    document.getElementById('empty').hidden = data.jobs.length > 0;
    beacon.showError(null);
    beacon.live('updated ' + new Date().toLocaleTimeString());
  } catch (e) {
    beacon.showError(e);
  }
  setTimeout(refresh, 2000);
}

refresh();
