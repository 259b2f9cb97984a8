"""Enqueues one `infer` task per (region, model, question, sample) of the
bench's job spec (the same spec file beacon's submit read), with publisher
confirms, after creating the job's counter row. Prints the number enqueued."""
import json
import os
import sys

import psycopg2

import pipeline

spec = json.load(open(sys.argv[1]))
job_id = sys.argv[2]
db = psycopg2.connect(os.environ["CELERY_DATABASE_URL"])
with db.cursor() as c:
    c.execute("""CREATE TABLE IF NOT EXISTS celery_jobs (job_id text PRIMARY KEY, total integer NOT NULL,
                 completed integer NOT NULL DEFAULT 0)""")
    c.execute("""CREATE TABLE IF NOT EXISTS celery_executions (job_id text, region text, model_id text,
                 question_id text, sample integer, status text NOT NULL, output text, usage jsonb,
                 PRIMARY KEY (job_id, region, model_id, question_id, sample))""")
    total = len(spec["regions"]) * len(spec["models"]) * len(spec["questions"]) * spec.get("samples", 1)
    c.execute("INSERT INTO celery_jobs (job_id, total) VALUES (%s, %s)", (job_id, total))
db.commit()
n = 0
with pipeline.app.producer_or_acquire() as producer:
    for region in spec["regions"]:
        for model in spec["models"]:
            for q in spec["questions"]:
                for s in range(spec.get("samples", 1)):
                    pipeline.infer.apply_async((job_id, region, model, q["id"], s, q["prompt"]),
                                               queue="celery.exec." + region, producer=producer)
                    n += 1
print(n)
