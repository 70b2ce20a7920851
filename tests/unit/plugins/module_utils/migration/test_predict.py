# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The migration model against the research's own figures and against QEMU's algorithm."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import predict as model
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.predict import PredictionError

MIB = 2 ** 20
GIB = 2 ** 30
GBIT = 938e6 / 8            # the research's LAN: 1 Gbit/s, 938 Mbit/s net
WAN = 37e6 / 8              # the research's WAN: 37 Mbit/s, 36.8 ms
VM = dict(memory_bytes=2 * GIB)


def run(strategy="precopy", **kw):
    inputs = dict(VM, link_rate=GBIT)
    inputs.update(kw)
    return model.predict(strategy, inputs)


# ---- the research's figures --------------------------------------------------------------

def test_idle_2gib_guest_on_the_lan_takes_the_time_to_send_its_memory_once():
    res = run()
    assert res["converges"] and res["rounds"] == 1
    assert res["total_s"] == pytest.approx(2 * GIB / GBIT, rel=0.01)            # 18.3 s
    # the research measured 12.5 s: QEMU sends untouched (zero) pages almost for free
    touched = run(touched_bytes=12.547 * GBIT)
    assert touched["total_s"] == pytest.approx(12.547, rel=0.01)


def test_idle_guest_on_the_37_mbit_wan():
    res = run(link_rate=WAN, rtt=0.0368)
    assert res["total_s"] == pytest.approx(464.6, abs=1)
    # with the same touched memory as on the LAN, 531 s means the stream reached ~60 % of 37 Mbit/s
    touched = 12.547 * GBIT
    efficiency = touched / WAN / 531.0
    calibrated = run(link_rate=WAN, rtt=0.0368, touched_bytes=touched, link_efficiency=efficiency)
    assert calibrated["total_s"] == pytest.approx(531, rel=0.01)
    assert 0.55 < efficiency < 0.65


def test_guest_dirtying_all_its_memory_never_converges_in_precopy():
    res = run(dirty_rate=500 * MIB)
    assert not res["converges"] and res["total_s"] is None and res["bytes_on_wire"] is None
    assert "downtime limit" in res["reason"] and "500.0 MiB/s" in res["reason"]


def test_auto_converge_finishes_it_and_says_what_the_guest_pays():
    res = run("auto_converge", dirty_rate=500 * MIB)
    assert res["converges"] and res["max_throttle_pct"] >= 80
    assert "throttled up to %d %%" % res["max_throttle_pct"] in res["guest_pays"]
    assert res["downtime_s"] <= 0.3 + model.DEVICE_STATE / GBIT


@pytest.mark.parametrize("seconds, dirtied, steps", [
    (2.0, 0.9, [0, 20, 20, 30, 30, 40, 40, 50]),     # a check every round: a step every second high one
    (0.4, 0.9, [0, 0, 0, 0, 0, 20, 20, 20]),         # rounds under a second: one check per second or more
    (2.0, 0.4, [0, 0, 0, 0, 0, 0, 0, 0]),            # under the 50 % threshold: never throttled
])
def test_auto_converge_steps_the_throttle_as_qemu_does(seconds, dirtied, steps):
    """migration_trigger_throttle: at a bitmap sync a second or more after the last check, the guest
    dirtied more than half of what was sent; the second time since the last step, the throttle
    starts at 20 % or grows by 10 %."""
    watch = model._ThrottleWatch({"throttle_initial": 20, "throttle_increment": 10, "throttle_max": 99})
    assert [watch.round_ended(seconds, 100 * MIB, dirtied * 100 * MIB) for _step in steps] == steps


LAB_LINK = 117e6 / 8          # the lab's scaled fast link
LAB_VM = dict(memory_bytes=256 * MIB, touched_bytes=256 * MIB, link_rate=LAB_LINK)


@pytest.mark.parametrize("writer_mib, dirty_mib_s, measured_s", [
    (160, 158, 114.6),   # docs/experiments.md, the eighth slice: CPU 50 %, RAM 100 %
    (160, 150, 121.2),   # CPU 100 %, RAM 100 %
])
def test_qemu_9_2_syncs_a_throttled_guest_inside_long_rounds(writer_mib, dirty_mib_s, measured_s):
    """QEMU 9.2+ syncs a throttled guest's bitmap every 5 s inside a round; each sync may raise the
    throttle. With 11 s rounds (160 MiB at 13.9 MiB/s) the throttle climbs about twice as fast."""
    inputs = dict(LAB_VM, working_set_bytes=writer_mib * MIB, dirty_rate=dirty_mib_s * MIB)
    old = model.predict("auto_converge", inputs)
    new = model.predict("auto_converge", dict(inputs, throttle_sync_s=model.throttle_sync_s(10000002)))
    assert old["converges"] and new["converges"] and new["max_throttle_pct"] == old["max_throttle_pct"] == 99
    assert new["rounds"] < old["rounds"] and new["total_s"] < 0.6 * old["total_s"]
    # the lab's QEMU 10.0.2 measured these moves: the model came within 20 % with the sync, 90 % off without
    assert new["total_s"] == pytest.approx(measured_s, rel=0.2)
    assert old["total_s"] > 1.8 * measured_s


def test_rounds_under_the_sync_interval_are_not_changed_by_it():
    """Rounds of 5 s or less already sync at least that often: the same prediction either way."""
    inputs = dict(LAB_VM, working_set_bytes=64 * MIB, dirty_rate=60 * MIB)
    synced, plain = (model.predict("auto_converge", dict(inputs, throttle_sync_s=s)) for s in (5.0, 0))
    assert synced.pop("inputs")["throttle_sync_s"] == 5.0 and plain.pop("inputs")["throttle_sync_s"] == 0
    assert synced["max_throttle_pct"] > 0 and synced == plain


@pytest.mark.parametrize("version, seconds", [(7002000, 0), (9001002, 0), (9002000, 5.0), (10000002, 5.0), (None, 0)])
def test_the_periodic_sync_comes_with_qemu_9_2(version, seconds):
    assert model.throttle_sync_s(version) == seconds


def test_postcopy_finishes_it_in_about_two_passes_and_names_the_risk():
    res = run("postcopy", dirty_rate=500 * MIB, rtt=0.001)
    assert res["converges"] and res["rounds"] == 1
    assert res["total_s"] == pytest.approx(2 * 2 * GIB / GBIT, rel=0.02)
    assert "loses the VM" in res["guest_pays"] and res["downtime_s"] < 0.05


# ---- QEMU's algorithm ----------------------------------------------------------------------

def test_rounds_shrink_by_dirty_rate_over_link_rate_until_the_rest_fits_the_downtime():
    res = run(dirty_rate=GBIT / 4)
    # 2 GiB, 512 MiB and 128 MiB while the guest runs, the last 32 MiB (fit 300 ms at 111.8 MiB/s) in the pause
    assert res["converges"] and res["rounds"] == 3
    assert res["bytes_on_wire"] == pytest.approx((2048 + 512 + 128 + 32) * MIB + model.DEVICE_STATE, rel=0.01)
    assert res["downtime_s"] <= 0.3 + model.DEVICE_STATE / GBIT


def test_a_larger_downtime_limit_switches_over_sooner():
    assert run(dirty_rate=GBIT / 4, downtime_limit=2.0)["rounds"] < run(dirty_rate=GBIT / 4)["rounds"]


def test_a_small_working_set_converges_even_when_written_fast():
    res = run(dirty_rate=4 * GBIT, working_set_bytes=16 * MIB)
    assert res["converges"] and res["downtime_s"] <= 0.3 + model.DEVICE_STATE / GBIT


@pytest.mark.parametrize("strategy", model.STRATEGIES)
def test_more_bandwidth_is_never_slower(strategy):
    dirty = 200 * MIB if strategy == "early_postcopy" else 10 * MIB   # it switches only for a fast writer
    times = [run(strategy, link_rate=rate, dirty_rate=dirty)["total_s"] for rate in (WAN * 4, GBIT, 4 * GBIT)]
    assert times == sorted(times, reverse=True)


def test_more_dirtying_is_never_faster():
    times = [run(dirty_rate=rate)["total_s"] for rate in (0, MIB, 10 * MIB, 50 * MIB)]
    assert times == sorted(times)


def test_disk_copy_comes_first_and_needs_the_mirror_to_keep_up():
    shared = run()
    copied = run(disk_bytes=10 * GIB)
    assert copied["disk_s"] == pytest.approx(10 * GIB / GBIT, rel=0.01)
    assert copied["total_s"] == pytest.approx(shared["total_s"] + copied["disk_s"], rel=0.01)
    never = run(disk_bytes=GIB, disk_dirty_rate=GBIT)
    assert not never["converges"] and "disk mirror never catches up" in never["reason"]


def test_compression_sends_fewer_bytes():
    plain, packed = run(dirty_rate=10 * MIB), run(dirty_rate=10 * MIB, compression_ratio=2.0)
    assert packed["total_s"] < plain["total_s"] and packed["bytes_on_wire"] < plain["bytes_on_wire"]


def test_a_compressed_first_round_shortens_only_the_first_round():
    """mt with xbzrle: QEMU compresses the first round and sends the pages dirtied since as before."""
    wan = dict(link_rate=WAN, touched_bytes=512 * MIB, dirty_rate=0.2 * MIB)
    plain, packed = run(**wan), run(first_round_ratio=2.0, **wan)
    assert plain["converges"] and packed["converges"]
    first = 512 * MIB / WAN
    assert plain["total_s"] - packed["total_s"] == pytest.approx(first / 2, rel=0.05)
    assert plain["bytes_on_wire"] - packed["bytes_on_wire"] == pytest.approx(256 * MIB, rel=0.05)
    assert run("precopy", first_round_ratio=2.0, **wan)["inputs"]["first_round_ratio"] == 2.0


@pytest.mark.parametrize("kw, words", [
    (dict(first_round_ratio=0.5), "first_round_ratio must be at least 1"),
    (dict(link_rate=0), "link_rate must be above 0"),
    (dict(link_rate=-1), "link_rate must be above 0"),
    (dict(dirty_rate=-5), "dirty_rate must be at least 0"),
    (dict(memory_bytes="2G"), "memory_bytes must be a number"),
    (dict(touched_bytes=3 * GIB), "touched_bytes must be at most"),
    (dict(link_efficiency=1.5), "link_efficiency must be at most 1"),
    (dict(downtime_limit=0), "downtime_limit must be above 0"),
    (dict(memory_bytes=None), "memory_bytes is required"),
])
def test_bad_input_names_the_input(kw, words):
    with pytest.raises(PredictionError) as exc:
        run(**kw)
    assert words in str(exc.value)


def test_unknown_strategy():
    with pytest.raises(PredictionError) as exc:
        run("teleport")
    assert "strategy must be one of precopy, auto_converge, postcopy" in str(exc.value)


# ---- the choice --------------------------------------------------------------------------

def cand(host, rtt_to_user, link_rate=GBIT, **kw):
    return dict(kw, host=host, rtt_to_user=rtt_to_user, link_rate=link_rate)


def test_the_target_closest_to_the_user_wins_among_those_that_qualify():
    out = model.choose(VM, [cand("cloud2", 0.010), cand("ws01", 0.0002), cand("ws02", 0.0005)])
    assert out["target"] == "ws01" and out["strategy"] == "precopy"
    assert out["prediction"]["converges"] and all(r["eligible"] for r in out["candidates"])


def test_each_rejected_candidate_says_why():
    out = model.choose(dict(VM, dirty_rate=5 * MIB), [
        cand("ws01", 0.0002, preflight_ok=False, preflight_reasons=["CPU vendor differs"]),
        cand("ws02", 0.0003, free_memory_bytes=GIB),
        cand("ws03", 0.0004, link_rate=WAN),
        cand("cloud2", 0.010),
    ], time_budget=120)
    reasons = dict((r["host"], r["reason"]) for r in out["candidates"])
    assert out["target"] == "cloud2"
    assert reasons["ws01"] == "pre-flight refused: CPU vendor differs"
    assert "not enough free memory (1024 MiB free, the VM needs 2048 MiB)" in reasons["ws02"]
    assert "over the budget of 120 s" in reasons["ws03"]


def test_postcopy_is_offered_only_when_allowed():
    writer = dict(VM, dirty_rate=5 * GBIT)
    out = model.choose(writer, [cand("ws01", 0.0002)], time_budget=60)
    assert all(p["strategy"] != "postcopy" for p in out["candidates"][0]["predictions"])
    assert out["target"] is None
    assert out["candidates"][0]["reason"].startswith("the fastest allowed strategy (auto_converge) needs")
    allowed = model.choose(writer, [cand("ws01", 0.0002)], allow_postcopy=True, time_budget=60)
    assert allowed["target"] == "ws01" and allowed["strategy"] == "early_postcopy"
    after_a_round = model.choose(writer, [cand("ws01", 0.0002)], move_strategy="postcopy", time_budget=60)
    assert after_a_round["strategy"] == "postcopy"
    assert allowed["prediction"]["total_s"] < after_a_round["prediction"]["total_s"]


def test_early_postcopy_sends_the_touched_memory_about_once():
    # the research's 80 % RAM case on its WAN: 1.6 GiB written at 50 MiB/s, touched 1.8 GiB
    writer = dict(VM, touched_bytes=1.8 * GIB, working_set_bytes=1.6 * GIB, dirty_rate=50 * MIB, link_rate=WAN,
                  rtt=0.0368)
    early, late = model.predict("early_postcopy", writer), model.predict("postcopy", writer)
    assert early["converges"] and early["runs_as"] == "postcopy"
    assert early["total_s"] == pytest.approx((1.8 * GIB + 16 * MIB) / WAN, rel=0.02)
    assert early["bytes_on_wire"] < late["bytes_on_wire"] and early["total_s"] < late["total_s"]


def test_early_postcopy_needs_a_guest_that_outruns_the_link():
    res = model.predict("early_postcopy", dict(VM, link_rate=GBIT, dirty_rate=10 * MIB))
    assert not res["converges"] and res["total_s"] is None
    assert "less than 25 % of the 111.8 MiB/s the link sends" in res["reason"]
    assert model.predict("early_postcopy", dict(VM, link_rate=GBIT, dirty_rate=40 * MIB))["converges"]


def test_no_strategy_at_all_converging_is_explained():
    out = model.choose(dict(VM, disk_bytes=GIB, disk_dirty_rate=2 * GBIT), [cand("ws01", 0.0002)])
    assert out["target"] is None
    assert "no allowed strategy converges" in out["candidates"][0]["reason"]
    assert "disk mirror never catches up" in out["candidates"][0]["reason"]


def test_the_callers_downtime_bound_excludes_strategies_that_pause_longer():
    slow = dict(VM, dirty_rate=GBIT / 4)
    loose = model.choose(slow, [cand("ws01", 0.0002)])
    assert loose["strategy"] == "precopy" and loose["prediction"]["downtime_s"] > 0.2
    tight = model.choose(slow, [cand("ws01", 0.0002)], downtime_limit=0.05)
    assert tight["target"] == "ws01" and tight["prediction"]["downtime_s"] <= 0.05


def test_a_candidate_without_a_name_is_an_error():
    with pytest.raises(PredictionError):
        model.choose(VM, [dict(rtt_to_user=0.001, link_rate=GBIT)])


# ---- the strategy the move will run with (vm_migrate's) ----------------------------------

# the lab's bench case (60 MiB/s, 50 % load): pre-copy ends, but the guest dirties more than half
# of what is sent, so auto-converge, when it is on, throttles it
NEAR = dict(memory_bytes=384 * MIB, touched_bytes=216 * MIB, working_set_bytes=140 * MIB, dirty_rate=54 * MIB,
            cpu_busy=0.113)


def test_a_move_with_auto_is_predicted_with_the_throttle_it_will_get():
    link = cand("ws01", 0.0002, link_rate=60 * MIB)
    free = model.choose(NEAR, [link])
    assert free["strategy"] == "precopy" and free["prediction"]["guest_pays"] == "nothing"
    auto = model.choose(NEAR, [link], move_strategy="auto")
    assert auto["strategy"] == "auto_converge" and auto["prediction"]["runs_as"] == "auto_converge"
    assert auto["prediction"]["max_throttle_pct"] > 0 and "throttled" in auto["prediction"]["guest_pays"]


def test_an_idle_guest_moved_with_auto_runs_as_precopy():
    out = model.choose(VM, [cand("ws01", 0.0002)], move_strategy="auto")
    assert out["strategy"] == "auto_converge" and out["prediction"]["runs_as"] == "precopy"
    assert out["prediction"]["max_throttle_pct"] == 0
    assert model.predict("precopy", dict(VM, link_rate=GBIT))["runs_as"] == "precopy"


def test_a_named_move_strategy_is_the_only_one_chosen():
    writer = dict(VM, dirty_rate=500 * MIB)
    only = model.choose(writer, [cand("ws01", 0.0002)], move_strategy="precopy")
    assert only["target"] is None and "precopy:" in only["candidates"][0]["reason"]
    # strategy postcopy asks for post-copy itself
    post = model.choose(writer, [cand("ws01", 0.0002)], move_strategy="postcopy")
    assert post["strategy"] == "postcopy" and post["prediction"]["runs_as"] == "postcopy"
    with pytest.raises(PredictionError, match="the move strategy must be one of"):
        model.choose(VM, [cand("ws01", 0.0002)], move_strategy="fast")
