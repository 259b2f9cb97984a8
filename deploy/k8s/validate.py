#!/usr/bin/env python3
"""Offline check of the Kubernetes manifests.

  python3 deploy/k8s/validate.py deploy/k8s          (reads kustomization.yaml itself)
  kubectl kustomize deploy/k8s | python3 deploy/k8s/validate.py -

What it can check without a cluster: the shape of each object (apiVersion,
kind, metadata.name, containers with image and args), that no Secret is
embedded and every secret is a secretKeyRef to beacon-secrets, liveness and
readiness probes on /healthz and /readyz for the long-running parts, a
termination grace period longer than each part's drain bound, one worker
Deployment and one KEDA ScaledObject per region, on that region's queue.
Exit 0 when everything holds, else 1 with one line per problem.
"""
import re
import sys

import yaml

REGIONS = {"us-east", "eu-west", "asia-pacific"}
problems = []


def bad(msg):
    problems.append(msg)


def flag(args, name, default):
    if name in args:
        return int(args[args.index(name) + 1])
    return default


def render(folder):
    """What `kubectl kustomize` does for this layout: the resources, in the namespace."""
    with open(f"{folder}/kustomization.yaml") as f:
        k = yaml.safe_load(f)
    out = []
    for res in k["resources"]:
        with open(f"{folder}/{res}") as f:
            for d in yaml.safe_load_all(f):
                if not d:
                    continue
                if d["kind"] != "Namespace":
                    d["metadata"]["namespace"] = k["namespace"]
                out.append(d)
    return out


source = sys.argv[1] if len(sys.argv) > 1 else "-"
docs = [d for d in yaml.safe_load_all(sys.stdin) if d] if source == "-" else render(source)
by_kind = {}
for d in docs:
    for field in ("apiVersion", "kind", "metadata"):
        if field not in d:
            bad(f"object without {field}: {d}")
    by_kind.setdefault(d.get("kind"), []).append(d)
    if d.get("kind") == "Secret":
        bad(f"Secret {d['metadata'].get('name')} is embedded: secrets must be created outside git")
    if d.get("kind") not in ("Namespace",) and d.get("metadata", {}).get("namespace") != "beacon":
        bad(f"{d.get('kind')} {d['metadata'].get('name')} is not in namespace beacon")

text = yaml.safe_dump_all(docs)
for m in re.finditer(r"(password|passwd|amqp://|postgresql://[^ ]*@)", text):
    if "gpu-" not in text[m.start() - 40:m.end()]:
        bad(f"something like a credential in the manifests: {text[max(0, m.start() - 30):m.end() + 30]!r}")

# The drain bound of each part (README: worker drain-timeout + 10 s, writer drain-timeout + 10 s).
DRAIN = {"beacon-worker": (60, 10), "beacon-progress-writer": (30, 10), "beacon-dashboard": (0, 5)}
workers = {}
for d in by_kind.get("Deployment", []):
    name = d["metadata"]["name"]
    spec = d["spec"]["template"]["spec"]
    for c in spec["containers"]:
        if not c.get("image") or not c.get("args"):
            bad(f"{name}: container {c.get('name')} without image or args")
        args = c["args"]
        program = args[0]
        for e in c.get("env", []):
            ref = e.get("valueFrom", {}).get("secretKeyRef")
            if ref and ref.get("name") != "beacon-secrets":
                bad(f"{name}: {e['name']} refers to secret {ref.get('name')}")
            if e["name"] in ("BEACON_DATABASE_URL", "BEACON_AMQP_URL", "BEACON_DASHBOARD_TOKEN") and not ref:
                bad(f"{name}: {e['name']} is not taken from a Secret")
        probes = {p: c.get(p, {}).get("httpGet", {}).get("path") for p in ("livenessProbe", "readinessProbe")}
        if probes != {"livenessProbe": "/healthz", "readinessProbe": "/readyz"}:
            bad(f"{name}: probes {probes}, want liveness /healthz and readiness /readyz")
        drain, extra = DRAIN.get(program, (0, 0))
        if program in ("beacon-worker", "beacon-progress-writer"):
            drain = flag(args, "--drain-timeout-s", drain)
        grace = spec.get("terminationGracePeriodSeconds", 30)
        if grace <= drain + extra:
            bad(f"{name}: terminationGracePeriodSeconds {grace} is not longer than the drain bound {drain + extra}")
        if program == "beacon-worker":
            workers[args[args.index("--region") + 1]] = name

if set(workers) != REGIONS:
    bad(f"worker Deployments for {sorted(workers)}, want one per region {sorted(REGIONS)}")
scaled = {}
for s in by_kind.get("ScaledObject", []):
    target = s["spec"]["scaleTargetRef"]["name"]
    for t in s["spec"]["triggers"]:
        if t["type"] != "rabbitmq" or t["metadata"].get("mode") != "QueueLength":
            bad(f"{s['metadata']['name']}: trigger is not a rabbitmq QueueLength trigger")
        scaled[t["metadata"]["queueName"]] = target
        if "host" in t["metadata"]:
            bad(f"{s['metadata']['name']}: broker host inline; use the TriggerAuthentication")
def scales_on(queue):
    # A trigger names its queue, or a regex over queue names (useRegex).
    return [target for pattern, target in scaled.items() if pattern == queue or re.fullmatch(pattern, queue)]

for region, deployment in workers.items():
    for queue in (f"beacon.exec.{region}", f"beacon.exec.{region}.job.some-job-2026"):  # region queue, a lane
        if scales_on(queue) != [deployment]:
            bad(f"{queue}: scaled by {scales_on(queue)}, want exactly {deployment}")
if len(by_kind.get("Job", [])) != 1:
    bad("want exactly one migrate Job")
if not any(d["metadata"]["name"] == "beacon-dashboard" for d in by_kind.get("Deployment", [])):
    bad("no dashboard Deployment")

for p in problems:
    print("k8s: " + p)
print(f"k8s: {len(docs)} objects checked, {len(problems)} problems")
sys.exit(1 if problems else 0)
