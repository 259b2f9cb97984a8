// /jobs/<id> : one job, live. Polls /api/jobs/<id> (the maintained counters)
// every second; re-reads the cells (/matrix) only when the job's version
// changed, so a quiet job costs one small read per poll. Cells are updated in
// place (no reload); #matrix[data-transitions] counts the cells that changed
// state since the page was opened.
'use strict';

const jobId = beacon.jobId();
const state = {version: null, cells: new Map(), mode: null, question: null, offset: 0, pageSize: 2000, polls: 0};

function groupTable(id, rows) {
  const body = document.querySelector('#' + id + ' tbody');
  body.replaceChildren(...rows.map((g) => {
    const tr = beacon.el('tr');
    tr.appendChild(beacon.el('td', {}, g.id === '' ? '(no question)' : g.id));
    const bar = beacon.el('td');
    bar.appendChild(beacon.bar(g));
    tr.appendChild(bar);
    tr.appendChild(beacon.el('td', {}, g.done + '/' + g.total));
    tr.appendChild(beacon.el('td', {className: 'muted'}, g.refused ? g.refused + ' refused' : ''));
    tr.appendChild(beacon.el('td', {className: 'muted'}, g.mean_latency_ms != null ? Math.round(g.mean_latency_ms) + ' ms' : ''));
    return tr;
  }));
}

function renderSummary(j) {
  document.title = 'beacon · ' + j.job_id;
  beacon.setText('crumb', j.job_id);
  beacon.setText('job-id', j.job_id);
  const st = document.getElementById('job-status');
  st.textContent = j.status;
  st.className = 'badge st-' + j.status;
  document.getElementById('stalled').hidden = !j.stalled;
  // Why a job stopped early: its budget, or `beacon-producer cancel`.
  const stop = document.getElementById('stop-reason');
  const reasons = {budget_exhausted: 'stopped: budget exhausted', cancel: 'stopped: cancelled'};
  stop.hidden = !reasons[j.stop_reason];
  stop.textContent = reasons[j.stop_reason] || '';
  beacon.fillBar(document.getElementById('job-bar'), j);
  beacon.setText('totals', j.done + '/' + j.total + ' (' + j.percent.toFixed(1) + '%) · completed ' + j.completed +
      ' · failed ' + j.failed + ' · running ' + j.running + ' · pending ' + j.pending + ' · cancelled ' + j.cancelled +
      ' · refused ' + j.refused);
  const finished = ['completed', 'failed', 'cancelled'].includes(j.status);
  beacon.setText('timing', 'elapsed ' + beacon.duration(j.elapsed_s) + (finished ? '' : ' · ETA ' + beacon.duration(j.eta_s)) +
      ' · created ' + j.created_at + (j.submissions > 1 ? ' · submitted ' + j.submissions + ' times' : ''));
  groupTable('regions', j.regions);
  groupTable('models', j.models);
  const summary = document.getElementById('summary');
  for (const k of ['total', 'done', 'completed', 'failed', 'running', 'pending', 'cancelled', 'refused'])
    summary.dataset[k] = String(j[k]);
  summary.dataset.status = j.status;
}

// Draws cells [q, m, r, s, status, classification] into `container` as a table:
// a row per question, a column per (model, region), a square per sample.
function drawCells(container, cells, job) {
  const questions = [], models = new Set(), regions = new Set();
  for (const c of cells) {
    if (!questions.includes(c[0])) questions.push(c[0]);
    models.add(c[1]); regions.add(c[2]);
  }
  const ms = [...models].sort(), rs = [...regions].sort();
  const table = beacon.el('table');
  const head = beacon.el('thead');
  const h1 = beacon.el('tr'), h2 = beacon.el('tr');
  h1.appendChild(beacon.el('th', {className: 'q', rowSpan: 2}, 'question'));
  for (const m of ms) h1.appendChild(beacon.el('th', {colSpan: rs.length}, m));
  for (let i = 0; i < ms.length; i++) for (const r of rs) h2.appendChild(beacon.el('th', {}, r));
  head.append(h1, h2);
  table.appendChild(head);
  const slots = new Map();
  const body = beacon.el('tbody');
  for (const q of questions) {
    const tr = beacon.el('tr');
    tr.appendChild(beacon.el('td', {className: 'q'}, q === '' ? '(no question)' : q));
    for (const m of ms) for (const r of rs) {
      const td = beacon.el('td');
      slots.set(q + '\u0000' + m + '\u0000' + r, td);
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
  table.appendChild(body);
  const index = new Map();
  for (const c of cells) {
    const [q, m, r, s, status, cls] = c;
    const st = beacon.cellState(status, cls);
    const a = beacon.el('a', {className: 'cell st-' + st, href: beacon.executionUrl(job, q, m, r, s),
                              title: q + ' · ' + m + ' · ' + r + ' · sample ' + s + ': ' + st,
                              dataset: {key: [r, m, q, s].join('|'), state: st}});
    slots.get(q + '\u0000' + m + '\u0000' + r).appendChild(a);
    index.set(a.dataset.key, a);
  }
  container.replaceChildren(table);
  return index;
}

// Updates cells in place; returns how many changed state.
function updateCells(index, cells) {
  let changed = 0;
  for (const [q, m, r, s, status, cls] of cells) {
    const a = index.get([r, m, q, s].join('|'));
    if (!a) continue;
    const st = beacon.cellState(status, cls);
    if (a.dataset.state !== st) {
      a.dataset.state = st;
      a.className = 'cell st-' + st;
      a.title = q + ' · ' + m + ' · ' + r + ' · sample ' + s + ': ' + st;
      changed++;
    }
  }
  return changed;
}

async function loadMatrix(job) {
  const matrix = document.getElementById('matrix');
  if (job.matrix === 'cells') {
    const data = await beacon.getJSON('/api/jobs/' + encodeURIComponent(jobId) + '/matrix');
    if (!state.index) {
      state.index = drawCells(matrix, data.cells, jobId);
    } else {
      const n = updateCells(state.index, data.cells);
      if (n) matrix.dataset.transitions = String(Number(matrix.dataset.transitions) + n);
    }
    matrix.dataset.version = data.version;
    return;
  }
  // Too many executions to draw at once: a row per question from the counters;
  // a question's cells on demand, a page at a time.
  const note = document.getElementById('matrix-note');
  note.hidden = false;
  note.textContent = job.total + ' executions: one row per question; choose a question to see its cells (' +
      state.pageSize + ' per page).';
  const table = beacon.el('table', {className: 'groups'});
  const body = beacon.el('tbody');
  for (const g of job.questions) {
    const tr = beacon.el('tr');
    const td = beacon.el('td');
    const btn = beacon.el('button', {type: 'button'}, g.id === '' ? '(no question)' : g.id);
    btn.addEventListener('click', () => { state.question = g.id; state.offset = 0; loadQuestion(); });
    td.appendChild(btn);
    tr.appendChild(td);
    const bar = beacon.el('td');
    bar.appendChild(beacon.bar(g));
    tr.appendChild(bar);
    tr.appendChild(beacon.el('td', {}, g.done + '/' + g.total));
    tr.appendChild(beacon.el('td', {className: 'muted'}, g.refused ? g.refused + ' refused' : ''));
    body.appendChild(tr);
  }
  table.appendChild(body);
  matrix.replaceChildren(table);
  if (state.question !== null) await loadQuestion();
}

async function loadQuestion() {
  const p = new URLSearchParams({question: state.question, offset: String(state.offset)});
  const data = await beacon.getJSON('/api/jobs/' + encodeURIComponent(jobId) + '/matrix?' + p.toString());
  document.getElementById('question-cells').hidden = false;
  beacon.setText('question-title', 'question ' + (state.question === '' ? '(no question)' : state.question));
  beacon.setText('page-info', 'cells ' + (state.offset + 1) + '–' + (state.offset + data.cells.length));
  document.getElementById('prev-page').disabled = state.offset === 0;
  document.getElementById('next-page').disabled = data.cells.length < data.limit;
  drawCells(document.getElementById('question-matrix'), data.cells, jobId);
}

document.getElementById('prev-page').addEventListener('click', () => {
  state.offset = Math.max(0, state.offset - state.pageSize); loadQuestion().catch(beacon.showError);
});
document.getElementById('next-page').addEventListener('click', () => {
  state.offset += state.pageSize; loadQuestion().catch(beacon.showError);
});
document.getElementById('report-link').href = beacon.jobUrl(jobId) + '/report';

async function poll() {
  let finished = false;
  try {
    const job = await beacon.getJSON('/api/jobs/' + encodeURIComponent(jobId));
    renderSummary(job);
    if (job.version !== state.version) {
      await loadMatrix(job);
      state.version = job.version;
    }
    finished = ['completed', 'failed', 'cancelled'].includes(job.status);
    state.polls++;
    document.body.dataset.polls = String(state.polls);
    beacon.showError(null);
    beacon.live((finished ? 'finished · ' : 'live · ') + 'updated ' + new Date().toLocaleTimeString());
  } catch (e) {
    beacon.showError(e);
  }
  // A finished job rarely changes (a re-submit): look less often.
  setTimeout(poll, finished ? 5000 : 1000);
}

poll();
