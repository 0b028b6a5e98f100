#!/usr/bin/env python3
"""A reward process for align4j (--reward cmd --reward-command "python3 reward.py").

align4j writes one JSON request per line on stdin and reads one JSON answer per line from stdout:
  request: {"prompts": [...], "completions": [...], "completion_tokens": [...], <each extra column of the prompt file>: [...]}
  answer:  {"rewards": [...]}            (one number per completion, in order)
The process is started once and kept for the whole run, so load models or test harnesses once, at the top.
Anything written to stderr is shown if the process fails.
"""
import json
import sys


def reward(completion: str, solution: str) -> float:
    """1 when the completion's first line is the reference solution, else 0 (replace with your checker)."""
    return 1.0 if completion.strip().split("\n")[0] == str(solution).strip() else 0.0


for line in sys.stdin:
    request = json.loads(line)
    rewards = [reward(c, s) for c, s in zip(request["completions"], request["solution"])]
    print(json.dumps({"rewards": rewards}), flush=True)
