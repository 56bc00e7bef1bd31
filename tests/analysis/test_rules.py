"""Each pre-training rule fires on a network made for it, and on the lesson networks exactly
the rules of the lesson's own problem fire (none on their fixes)."""

import pytest

from bpstudio.analysis import rules
from bpstudio.analysis.rules import RULES, analyze
from bpstudio.core import SGD, Adam, Dense, Dropout, Sequential
from bpstudio.lessons.catalog import LESSONS, with_fix


def net(layers, optimizer=None, loss="mse", input_dim=2):
    built = Sequential(layers, input_dim=input_dim)
    return built.compile(optimizer or SGD(0.01), loss)


def fired(network) -> set[str]:
    return {w.rule for w in analyze(network)[1]}


#: For every rule, a network it must fire on.
MADE_FOR = {
    "deep_squashing": lambda: net([Dense(4, "sigmoid") for _ in range(3)] + [Dense(1)]),
    "linear_stack": lambda: net([Dense(4), Dense(4), Dense(1)]),
    "zero_kernel": lambda: net([Dense(4, "tanh", kernel_initializer="zeros"), Dense(1)]),
    "large_init": lambda: net(
        [Dense(4, "tanh", kernel_initializer={"name": "random_normal", "stddev": 2.0}), Dense(1)]
    ),
    "huge_scale": lambda: net(
        [Dense(4, "tanh", kernel_initializer={"name": "variance_scaling", "scale": 11.0}), Dense(1)]
    ),
    "dropout_all": lambda: net([Dense(4, "relu"), Dropout(1.0), Dense(1)]),
    "dropout_high": lambda: net([Dense(4, "relu"), Dropout(0.8), Dense(1)]),
    "sgd_lr_high": lambda: net([Dense(4, "tanh"), Dense(1)], SGD(rules.SGD_LR_HIGH)),
    "relu_lr_high": lambda: net([Dense(4, "relu"), Dense(1)], SGD(rules.RELU_SGD_LR_HIGH)),
    "adam_lr_high": lambda: net([Dense(4, "relu"), Dense(1)], Adam(rules.ADAM_LR_HIGH)),
    "softmax_for_categorical": lambda: net(
        [Dense(4, "relu"), Dense(3, "sigmoid")], loss="categorical_crossentropy"
    ),
    "sigmoid_for_binary": lambda: net([Dense(4, "relu"), Dense(1)], loss="binary_crossentropy"),
}

#: The rules each lesson's network triggers (its own problem, and nothing else), then each of
#: its fixes: a fix that cures something else leaves the cause's warning standing (lesson 3's
#: lower rate keeps the large initial weights; lesson 4's LeakyReLU keeps the rate of 3).
LESSON_RULES = {
    1: [set(), set()],
    2: [{"deep_squashing"}, set(), set()],
    3: [{"large_init"}, {"large_init"}, {"large_init"}, {"large_init"}],
    4: [{"relu_lr_high"}, set(), {"sgd_lr_high"}],
    5: [set(), set(), set(), {"dropout_high"}],
    6: [set(), {"linear_stack"}, set()],  # the warning is the lesson's point
    7: [set()] * 4,
    8: [set()] * 3,
    9: [set()] * 3,
}


def test_every_rule_has_a_network_made_for_it():
    assert set(MADE_FOR) == {rule.name for rule in RULES}


@pytest.mark.parametrize("name", sorted(MADE_FOR))
def test_the_rule_fires_on_its_network_and_only_it(name):
    assert fired(MADE_FOR[name]()) == {name}


def test_a_plain_healthy_network_gets_no_warning():
    assert fired(net([Dense(8, "relu", kernel_initializer="he_normal"), Dense(1)])) == set()


@pytest.mark.parametrize("lesson", sorted(LESSONS, key=lambda x: x.number), ids=lambda x: x.slug)
def test_lesson_networks_trigger_their_own_problem_only(lesson):
    project = LESSONS[lesson]()
    fixes = [with_fix(project, i) for i in range(len(project.lesson["fixes"]))]
    seen = [fired(p.build_network()) for p in [project, *fixes]]
    assert seen == LESSON_RULES[lesson.number]
