"""The invariant checker must be able to fail: hand-made histories that
break each invariant, next to ones that hold."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from history_check import JobRules, check, load_histories  # noqa: E402

RULES = {"j": JobRules(lookahead=4)}


def ev(t, worker, name, **fields):
    return {"t": t, "ev": name, "job": fields.pop("job", "j"), "worker": worker,
            "pid": fields.pop("pid", hash(worker) % 1000), "client": "py", **fields}


def report(t, worker, round_, iteration, target, directive="continue", **fields):
    return ev(t, worker, "report", sent=t - 0.001, round=round_, iteration=iteration,
              target=target, directive=directive, rejoined=fields.pop("rejoined", False),
              now_round=fields.pop("now_round", round_), **fields)


def release(t, worker, from_round, round_, target=2, epoch=2, fingerprint=77, live=2, **fields):
    return ev(t, worker, "release", from_round=from_round, round=round_, target=target,
              epoch=epoch, fingerprint=fingerprint, live=live, changed=False, waited=0.1,
              rejoined=fields.pop("rejoined", False), **fields)


def one_round(worker, t0=1.0, round_=2, **release_fields):
    return [ev(t0, worker, "registered", round=1, target=2),
            report(t0 + 1, worker, 1, 1, 2),
            report(t0 + 2, worker, 1, 2, 2, "sync"),
            ev(t0 + 2.1, worker, "sync_start", round=1),
            release(t0 + 3, worker, 1, round_, **release_fields)]


def test_a_valid_history_holds():
    assert check(one_round("a") + one_round("b"), [0.0], RULES) == []


def test_workers_released_into_different_rounds():
    violations = check(one_round("a") + one_round("b", round_=3), [0.0], RULES)
    assert any("disagree on round" in v for v in violations), violations


def test_workers_released_with_different_epochs():
    violations = check(one_round("a") + one_round("b", epoch=3), [0.0], RULES)
    assert any("disagree on epoch" in v for v in violations), violations


def test_workers_released_with_different_fingerprints():
    violations = check(one_round("a") + one_round("b", fingerprint=78), [0.0], RULES)
    assert any("disagree on fingerprint" in v for v in violations), violations


def test_more_workers_released_than_live():
    history = one_round("a", live=1) + one_round("b", live=1)
    violations = check(history, [0.0], RULES)
    assert any("but 1 live workers" in v for v in violations), violations


def test_release_into_a_round_that_is_not_later():
    violations = check(one_round("a", round_=1) + one_round("b", round_=1), [0.0], RULES)
    assert any("not a later one" in v for v in violations), violations


def test_barriers_of_different_coordinator_runs_are_different_barriers():
    # Same round number before and after a restart at t=5: not the same barrier.
    history = one_round("a") + one_round("b", t0=4.0, round_=5, epoch=9)
    assert check(history, [0.0, 5.0], RULES) == []
    assert check(history, [0.0], RULES) != []


def test_a_release_after_a_reregistration_is_not_from_that_barrier():
    history = one_round("a") + one_round("b", round_=7, epoch=1, rejoined=True)
    assert check(history, [0.0], RULES) == []


def test_an_unsynchronized_release_is_not_from_that_barrier():
    history = one_round("a") + one_round("b", round_=7, epoch=1, synchronized=False)
    assert check(history, [0.0], RULES) == []


def test_target_beyond_r():
    history = [ev(1, "a", "registered", round=1, target=5), report(2, "a", 1, 1, 5)]
    violations = check(history, [0.0], RULES)
    assert any("target 5 > R=4" in v for v in violations), violations


def test_iteration_beyond_target():
    history = [ev(1, "a", "registered", round=1, target=1), report(2, "a", 1, 1, 1),
               report(3, "a", 1, 2, 1)]
    violations = check(history, [0.0], RULES)
    assert any("beyond its target" in v for v in violations), violations


def test_sync_before_the_target():
    history = [ev(1, "a", "registered", round=1, target=3), report(2, "a", 1, 1, 3, "sync")]
    violations = check(history, [0.0], RULES)
    assert any("told to sync after 1" in v for v in violations), violations


def test_an_iteration_counted_twice():
    history = [ev(1, "a", "registered", round=1, target=3), report(2, "a", 1, 1, 3),
               report(3, "a", 1, 1, 3), report(4, "a", 1, 2, 3)]
    violations = check(history, [0.0], RULES)
    assert any("counted twice" in v for v in violations), violations


def test_an_iteration_skipped():
    history = [ev(1, "a", "registered", round=1, target=3), report(2, "a", 1, 1, 3),
               report(3, "a", 1, 3, 3, "sync")]
    violations = check(history, [0.0], RULES)
    assert any("skipped" in v for v in violations), violations


def test_a_reregistration_starts_counting_afresh():
    history = [ev(1, "a", "registered", round=4, target=3), report(2, "a", 4, 1, 3),
               report(3, "a", 4, 1, 2, rejoined=True, now_round=1), report(4, "a", 1, 2, 2)]
    assert check(history, [0.0], RULES) == []


SSP = {"s": JobRules(staleness=1)}


def ssp_history(a_reports):
    """s=1: b and a alternate, then a runs ahead by `a_reports` - 2."""
    history = [ev(0.1, "a", "registered", job="s"), ev(0.2, "b", "registered", job="s"),
               report(1.0, "b", 0, 1, 0, job="s"), report(2.0, "a", 0, 1, 0, job="s"),
               report(3.0, "b", 0, 2, 0, job="s")]
    history += [report(4.0 + i, "a", 0, i + 2, 0, job="s") for i in range(a_reports - 1)]
    history += [ev(9.0, "b", "stop", job="s")]
    return history


def test_ssp_within_the_bound_holds():
    assert check(ssp_history(3), [0.0], SSP) == []


def test_ssp_beyond_the_bound():
    violations = check(ssp_history(4), [0.0], SSP)
    assert any("went past clock 4" in v for v in violations), violations


def test_ssp_check_refuses_a_history_it_cannot_bound():
    history = ssp_history(3) + [ev(9.5, "b", "registered", job="s")]
    violations = check(history, [0.0], SSP)
    assert any("one registration per worker" in v for v in violations), violations


def test_load_histories_drops_a_line_cut_by_kill(tmp_path):
    path = tmp_path / "h.jsonl"
    whole = json.dumps(ev(1, "a", "registered", round=1, target=1))
    path.write_text(whole + "\n" + whole[:10])
    assert [e["ev"] for e in load_histories([str(path)])] == ["registered"]
