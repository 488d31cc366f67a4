"""Drives an orch agent with python-nomad, unchanged, as a Nomad user's script would.

Usage: python python_nomad_check.py <host> <port> <job.json>
Exits non-zero (with the failing step) on any mismatch.
"""
import json
import sys

import nomad

host, port, job_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
n = nomad.Nomad(host=host, port=port, timeout=10)
job = json.load(open(job_file))

def check(step, cond, detail=""):
    if not cond:
        print(f"FAILED at {step}: {detail}")
        sys.exit(1)
    print(f"ok {step}")

check("leader", n.status.leader.get_leader() != "")
check("regions", n.regions.get_regions() == ["global"])
reg = n.jobs.register_job(job)
check("register", reg.get("EvalID"), reg)
check("list", [j["ID"] for j in n.jobs.get_jobs()] == ["web"])
got = n.job.get_job("web")
check("read", got["TaskGroups"][0]["Count"] == 2, got["TaskGroups"][0]["Count"])
check("summary", "frontend" in n.job.get_summary("web")["Summary"])
check("evaluations", len(n.job.get_evaluations("web")) >= 1)
check("allocations", n.job.get_allocations("web") == [])
check("evals list", len(n.evaluations.get_evaluations()) >= 1)
check("nodes", n.nodes.get_nodes() == [])
check("agent", n.agent.get_agent()["config"]["Region"] == "global")
plan = n.job.plan_job("web", {"Job": got}, diff=True)
check("plan", plan["Annotations"]["DesiredTGUpdates"]["frontend"]["Place"] == 2, plan)
job["Job"]["TaskGroups"][0]["Count"] = 3
n.job.register_job("web", job)
check("versions", len(n.job.get_versions("web")["Versions"]) == 2)
dereg = n.job.deregister_job("web", purge=True)
check("deregister", dereg.get("EvalID"), dereg)
check("gone", n.jobs.get_jobs() == [])
try:
    n.job.get_job("web")
    check("404", False, "job still readable after purge")
except nomad.api.exceptions.URLNotFoundNomadException:
    check("404", True)
