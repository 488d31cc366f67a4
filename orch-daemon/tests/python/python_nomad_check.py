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
# The dev agent's own client runs the two web servers.
import time
running = []
for _ in range(100):
    running = [a for a in n.job.get_allocations("web") if a["ClientStatus"] == "running"]
    if len(running) == 2:
        break
    time.sleep(0.2)
check("allocations", len(running) == 2, n.job.get_allocations("web"))
alloc = n.allocation.get_allocation(running[0]["ID"])
check("allocation", alloc["TaskStates"]["server"]["State"] == "running", alloc["TaskStates"])
check("evals list", len(n.evaluations.get_evaluations()) >= 1)
nodes = n.nodes.get_nodes()
check("nodes", len(nodes) == 1 and nodes[0]["Status"] == "ready", nodes)
node = n.node.get_node(nodes[0]["ID"])
check("node", node["Attributes"]["driver.raw_exec"] == "1", node["Attributes"])
check("agent", n.agent.get_agent()["config"]["Region"] == "global")
job["Job"]["TaskGroups"][0]["Count"] = 3
plan = n.job.plan_job("web", job, diff=True)
check("plan", plan["Annotations"]["DesiredTGUpdates"]["frontend"]["Place"] == 1, plan)
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
