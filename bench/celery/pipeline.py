"""A Celery pipeline of beacon's topology, for bench/throughput.sh (issue 9).

Same broker, database and simulator as the beacon run beside it:
  submit.py -> queue celery.exec.<region> (quorum) -> `infer` task (one worker
  process per region, thread pool of the same concurrency as beacon's workers)
  calls the simulator's OpenAI endpoint, then sends the answer to queue
  celery.progress -> `progress` task (one worker process) upserts the row
  idempotently into celery_executions and moves the job's counter only when the
  row really changed. acks_late everywhere: a message is acked after its task
  ran, as beacon acks after the outcome is durable.
Debian packages only: python3-celery, python3-psycopg2, python3-requests.
"""
import os
import threading

import kombu.transport.pyamqp
import psycopg2
import requests
from celery import Celery
from kombu import Queue

# Quorum queues refuse global QoS, which Celery 5.2 asks for on RabbitMQ >= 3.3;
# per-consumer prefetch is the same thing for one consumer per channel (what
# Celery 5.5's worker_detect_quorum_queues does).
kombu.transport.pyamqp.Transport.qos_semantics_matches_spec = lambda self, connection: True

REGIONS = os.environ.get("CELERY_BENCH_REGIONS", "us-east,eu-west,asia-pacific").split(",")
QUORUM = {"x-queue-type": "quorum"}

app = Celery("beacon_celery_bench", broker=os.environ["CELERY_BROKER_URL"])
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    accept_content=["json"],
    task_default_delivery_mode="persistent",
    broker_pool_limit=None,
    broker_transport_options={"confirm_publish": True},
    task_queues=[Queue("celery.exec." + r, routing_key="celery.exec." + r, queue_arguments=QUORUM) for r in REGIONS]
    + [Queue("celery.progress", routing_key="celery.progress", queue_arguments=QUORUM)],
    task_routes={"pipeline.progress": {"queue": "celery.progress"}},
    worker_hijack_root_logger=False,
)

_local = threading.local()


def _session():
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session


def _db():
    if not hasattr(_local, "db"):
        _local.db = psycopg2.connect(os.environ["CELERY_DATABASE_URL"])
    return _local.db


@app.task(name="pipeline.infer")
def infer(job_id, region, model, question, sample, prompt):
    r = _session().post(
        os.environ["CELERY_SIM_URL"] + "/v1/chat/completions",
        json={"model": model, "messages": [{"role": "system", "content": "You are a helpful assistant based in "
                                            + region + "."}, {"role": "user", "content": prompt}],
              "temperature": 0.1, "max_tokens": 128},
        timeout=60,
    )
    r.raise_for_status()
    body = r.json()
    text = body["choices"][0]["message"]["content"]
    progress.delay(job_id, region, model, question, sample, text, body.get("usage", {}))


UPSERT = """
WITH up AS (
  INSERT INTO celery_executions AS e (job_id, region, model_id, question_id, sample, status, output, usage)
  VALUES (%s, %s, %s, %s, %s, 'completed', %s, %s)
  ON CONFLICT (job_id, region, model_id, question_id, sample) DO UPDATE
  SET status = 'completed', output = excluded.output, usage = excluded.usage
  WHERE e.status <> 'completed'
  RETURNING 1
)
UPDATE celery_jobs SET completed = completed + (SELECT count(*) FROM up) WHERE job_id = %s
"""


@app.task(name="pipeline.progress")
def progress(job_id, region, model, question, sample, text, usage):
    db = _db()
    with db.cursor() as c:
        c.execute(UPSERT, (job_id, region, model, question, sample, text, psycopg2.extras.Json(usage), job_id))
    db.commit()


import psycopg2.extras  # noqa: E402  (Json, used above)
