// /jobs/<id>/execution?region=&model=&question=&sample= : one execution, and
// the same (model, question, sample) in every region of the job.
'use strict';

const jobId = beacon.jobId();
const params = new URLSearchParams(location.search);

function fact(dl, name, value) {
  if (value === null || value === undefined || value === '') return;
  dl.appendChild(beacon.el('dt', {}, name));
  dl.appendChild(beacon.el('dd', {dataset: {fact: name}}, value));
}

function regionCard(x, current) {
  const st = beacon.cellState(x.status, x.classification);
  const card = beacon.el('div', {className: 'region' + (current ? ' current' : ''), dataset: {region: x.region}});
  const h = beacon.el('h3');
  const link = beacon.el('a', {href: beacon.executionUrl(jobId, x.question_id, x.model_id, x.region, x.sample)}, x.region);
  h.appendChild(link);
  h.appendChild(document.createTextNode(' '));
  h.appendChild(beacon.el('span', {className: 'badge st-' + x.status}, st));
  card.appendChild(h);
  if (x.latency_ms != null) card.appendChild(beacon.el('p', {className: 'muted small'}, Math.round(x.latency_ms) + ' ms'));
  card.appendChild(beacon.el('pre', {className: 'text'}, x.text || (x.error ? x.error.kind + ': ' + x.error.message : '')));
  return card;
}

async function load() {
  const link = document.getElementById('job-link');
  link.textContent = jobId;
  link.href = beacon.jobUrl(jobId);
  try {
    const d = await beacon.getJSON('/api/jobs/' + encodeURIComponent(jobId) + '/execution?' + params.toString());
    const st = beacon.cellState(d.status, d.classification);
    document.title = 'beacon · ' + d.question_id + ' · ' + d.model_id + ' · ' + d.region;
    beacon.setText('crumb', d.question_id + ' · ' + d.model_id + ' · ' + d.region + ' · sample ' + d.sample);
    beacon.setText('key', (d.question_id || '(no question)') + ' · ' + d.model_id + ' · ' + d.region + ' · sample ' + d.sample);
    const badge = document.getElementById('exec-status');
    badge.textContent = st;
    badge.className = 'badge st-' + d.status;
    const dl = document.getElementById('facts');
    dl.replaceChildren();
    fact(dl, 'status', d.status);
    fact(dl, 'classification', d.classification);
    fact(dl, 'finish reason', d.output && d.output.finish_reason);
    fact(dl, 'latency', d.latency_ms != null ? Math.round(d.latency_ms) + ' ms' : null);
    fact(dl, 'tokens', d.prompt_tokens != null ? d.prompt_tokens + ' prompt · ' + d.completion_tokens + ' completion' : null);
    fact(dl, 'attempts', d.attempts);
    fact(dl, 'worker', d.worker_id);
    fact(dl, 'endpoint', d.receipt && d.receipt.endpoint);
    fact(dl, 'HTTP status', d.receipt && d.receipt.http_status);
    fact(dl, 'started', d.started_at);
    fact(dl, 'completed', d.completed_at);
    beacon.setText('system-prompt', d.system_prompt || '');
    beacon.setText('prompt', d.prompt == null ? '(prompt not available)' : d.prompt);
    beacon.setText('answer', d.text || (d.status === 'completed' ? '(empty answer)' : '(no answer yet: ' + d.status + ')'));
    document.getElementById('error-box').hidden = !d.error;
    if (d.error) beacon.setText('error-text', d.error.kind + ': ' + d.error.message);
    beacon.setText('divergence', d.divergence == null ? '' :
        'divergence between the regions ' + d.divergence.toFixed(2) + ' (0 = same words, 1 = none shared)');
    document.getElementById('regions').replaceChildren(...d.regions.map((x) => regionCard(x, x.region === d.region)));
    document.body.dataset.loaded = 'true';
    beacon.showError(null);
  } catch (e) {
    beacon.showError(e);
    document.body.dataset.loaded = 'error';
  }
}

load();
