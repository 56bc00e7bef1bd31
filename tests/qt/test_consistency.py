"""No two texts on screen contradict each other: every lesson is played in the window, and at
every snapshot the diagnosis banner, the failure banner, the gradients panel's sentence and
the dead-units panel say the same about the same thing."""

import re

import pytest

from tests.qt.test_window import wait_idle


def contradictions(window, s) -> list[str]:
    problems = []
    kinds = [f.kind for f in s.findings]
    if window.failure_banner.isVisible() != bool(s.failure):
        problems.append("failure banner shown without a failure, or hidden with one")
    if s.failure and kinds != ["non_finite"]:
        problems.append(f"other findings beside the overflow: {kinds}")
    gradients = window.panels["gradients"]
    if gradients.shown is s and not s.failure:
        text = gradients.ratio.plain_text().lower()
        for kind in ("vanishing", "exploding"):
            if (f"{kind} gradients" in text) != (kind in kinds):
                problems.append(f"gradients panel says {text!r}; findings {kinds}")
    dead_panel = window.panels["dead_units"]
    if dead_panel.shown is s:
        counts = {
            name: (int(k), int(n))
            for name, k, n in re.findall(
                r"(\w[\w ]*): (\d+)/(\d+) dead", dead_panel.summary.plain_text()
            )
        }
        for finding in s.findings:
            if finding.kind == "dead_units":
                share = int(re.match(r"(\d+)%", finding.message)[1])
                k, n = counts[s.label(finding.layer)]
                if round(100 * k / n) != share:
                    problems.append(f"banner: {finding.message!r}; panel: {k}/{n} dead")
    banner = window.diagnosis
    shown = [f for f in s.findings if f.kind != "non_finite" and f.kind not in banner.dismissed]
    if banner.isVisible() != bool(shown):
        problems.append(f"diagnosis banner visible={banner.isVisible()} with findings {kinds}")
    elif shown and s.final and shown[0].title not in banner.text.text():
        problems.append(f"banner says {banner.text.text()!r}, first finding {shown[0].title}")
    return problems


@pytest.mark.parametrize("number", [1, 2, 3, 4, 5])
def test_no_two_texts_on_screen_contradict_each_other(qtbot, make_window, number):
    window = make_window()
    window.open_lesson(number)
    seen, problems = [], []

    def check(s):  # connected last: every panel has drawn this snapshot (or skipped it)
        seen.append(s)
        problems.extend(f"step {s.step}: {p}" for p in contradictions(window, s))

    window.hub.snapshot_ready.connect(check)
    window.actions["play"].trigger()
    trainer = window.session.trainer
    qtbot.waitUntil(
        lambda: trainer.step_count >= 1500 or not window.session.playing, timeout=120_000
    )
    window.training.pause()
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: seen[-1].final, timeout=5000)  # at rest: every panel draws it
    window.hub.snapshot_ready.disconnect(check)
    assert seen  # lesson 3 overflows within its first snapshot
    assert not problems, "\n".join(problems[:10])
    window.document.modified = False
